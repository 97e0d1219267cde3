// Package onnxpb is ONNX's own schema compiled to Go: onnx.proto3 as the
// ONNX repository has it at tag v1.17.0 (commit b8baa844), and
// onnx.proto3.pb.go, which protoc-gen-go v1.36.12 (the version of
// google.golang.org/protobuf in go.mod) made from it. Both are committed,
// so building needs no protoc. To regenerate, with protoc and
// `go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12` on
// PATH, run `go generate ./onnx/onnxpb`.
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto3=github.com/vkcnn/vkcnn/onnx/onnxpb onnx.proto3
