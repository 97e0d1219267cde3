package shaders

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

// stride1Digests are the SHA-256 digests of every shader compiled before
// strided convolutions came (commit d0b3fda): the kernels they run stay
// the code the published figures measured, and new cases go in new
// shader files. A change here is a decision to re-measure them: augment
// (per-channel normalization) and softmax_xent (label smoothing) were
// re-pinned so, their default paths' results bit-identical as
// TestSequentialModelsTrainAsBefore holds.
var stride1Digests = map[string]string{
	"accumulate":                   "e3987d2b890f2bcfa55a993b82bc9e08c50757409b8e25dac5b5f4be3d7793b8",
	"adam":                         "9565a9d66ea121a91bf0b93ea8117ead4e9dad7194af2b36c9084b3e0db22397",
	"add":                          "86382030a41633812a546dfdd84a3da94a31c4cefafdd32dfe4fc9e492932ad2",
	"augment":                      "7aacd014884458be3eb5e72379f41eda4a7f2a81ea697890abae4bc0e14a21ad",
	"avgpool":                      "aa93edde0903cdb0695291ef5f05291277a35c0fd3a3a02be36b777670aef540",
	"batchnorm_dx":                 "1d20333b6b1010780ba0709b544cf5e79ffd209962e5cbf0a69b402f42df7361",
	"batchnorm_grad":               "28a079036f1469529f803cb9ebae6b829e61357aadefc5ebc2c732c4097fc378",
	"batchnorm_normalize":          "09cdc42ef8a0dfce48df835d4f74b527bd267738a1e65551617f517ce7d27eae",
	"batchnorm_stats":              "c8e725b4ad127a9d4b762843df976140b2a46ddec304a1e26ecdc6ec5579fd6f",
	"colsum":                       "c62e91c6364bbe232796e7646adb6d7590c52ef30078de2321a7ed301008e466",
	"conv_bwd_data_coopmat_bf16":   "459cfb96cb28c4a1a1f9d276dd3040a0f95e99e92ae3cc4cdff6886bfb68a9ac",
	"conv_bwd_data_coopmat_emu":    "5dacf8041f78d562e0a13b703846c0c7753c7b3bcdd05bcdb11f0a57cd799939",
	"conv_bwd_data_coopmat_f16":    "791a27dfea4229582418b05b24bb766a4c4e3a54227722c1aeccc17dadca2f7f",
	"conv_bwd_data_subgroup":       "615b35aebca762470995844441d438d8219331d7ea6c44df3bab38af2fec17fd",
	"conv_bwd_data_tiled":          "7716b118cea08d4c185d24c736f82354424f883068425f30450f23aeeaae01a7",
	"conv_bwd_data_warp":           "fd8ed7a8740e92eb208c6496cab062d7c1d5ddb1936137c9cb87f735c32407c3",
	"conv_bwd_filter_coopmat_bf16": "7007e346c843c33fc6ef23e590b3c40b81dda55d1be4f3c8ae7ef86e6fe8fa56",
	"conv_bwd_filter_coopmat_emu":  "bbceb55fc7542a05b7ec35685b2221f26933a315bc077a8ccf502d3b8630a71a",
	"conv_bwd_filter_coopmat_f16":  "c71427815b9686db49cc6dcd8e0ef14d9c835e2bf8f54a44492c026228cccdf1",
	"conv_bwd_filter_subgroup":     "ea1e3b5f62e6db50278b2fb3529f0a7b7b6efdca4591d78e913ba1e910da6831",
	"conv_bwd_filter_tiled":        "f53b391b136ce5fb69130186f576445e421aa502f00fffb3b90e9d092b905e80",
	"conv_bwd_filter_warp":         "da3cf82e4e1ba124f90f002cd1ec587b22dfcb6103b75f510ddbdf46ec1dff16",
	"conv_fwd_coopmat_bf16":        "d0f25f9e83ed59676c7c0fd4eb86fd9df746c1bc3a16674c9fefc2909fe9d1be",
	"conv_fwd_coopmat_emu":         "b870d7f1175bcd5e5988f49a65afad16017c9cae30a3cbd200ba1eb042675b39",
	"conv_fwd_coopmat_f16":         "4d96a62dba04c74082c7a42e4fca35ce44cf8d38af575b59aee45b2835f344f0",
	"conv_fwd_subgroup":            "3e0a32030ecfef8a8769f607442d4f5e35b2fd77dbd5f901868d5896bd4f49f2",
	"conv_fwd_tiled":               "4c8147173e70cfac6520f06ec1a25ebdbe5990eaa3dce467d8add4a5ff842ece",
	"conv_fwd_warp":                "a852344abe2e90f999e25a83e15b900748d6ada1c66c1cae27f126895fac6eb5",
	"copy":                         "555045b271f68db2818a19b87bda487cba4b4ec0145224ad18764bf828b70f89",
	"dropout":                      "aa1a82f580bb839cc6a0b96694afb5d260b439d2e293f97eafb5365a3ca07178",
	"fill":                         "872f60c6f2d67173791f7d86e3b7bfa7e440d8232c6715b363b380fd9fc69c96",
	"gemm_coopmat_bf16":            "e9b52b278eb844631b6cfd2372f5a7ca825bfb84ae7cf706e8bb52d68aeb62b1",
	"gemm_coopmat_emu":             "dad6902c41886c278040228e2ffab5c89f7cf7844bd5bdbfee30ee49c306fcb5",
	"gemm_coopmat_f16":             "88bc0ae32694ea452e4edeedf2d370d1555e168860fb62eb076db3ed1bf1c73a",
	"gemm_subgroup":                "dc8e93fa06365a886d5a1b23a6c1d87bc8d64950ad4a51f37ff0e8b2a0ed98eb",
	"gemm_tiled":                   "69ce5bfeabde9f1ddf62b40cb5b5f9c8453fdf555d4df769fe79d6168597df97",
	"gemm_warp":                    "a3d41f59c4a1005e6025539944ee211238e613731483bd7f14a32fd9efadce42",
	"maxpool":                      "e1ed779b7b0bec9d923e04b9a07e0922690944e27c70f5d7b008c1c7b8822891",
	"relu":                         "813a5b458b78dcd300abd2db920330d25aa342008b35514c115d8d548aefd02b",
	"scale":                        "fbf8ff6f59be27c2e465b228c10e03f1c267330635afa2026ef6622953f08381",
	"softmax_xent":                 "a0b01070f0c99e5708437aa52888af5bf34e6762a9a5e9d5a46f49311eab0ddc",
	"splitsum":                     "8516e1038a70647457e01e35e56cbd265b950c419c219b93dd0b40a7980f97cb",
	"transpose":                    "bd1ba9ca8c1ad7a1050e5b32bf32f5cb3a75853bd3b350d1bebdcc96028f33ab",
}

func TestEarlierShadersUnchanged(t *testing.T) {
	for name, want := range stride1Digests {
		code, err := SPIRV(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(code)); got != want {
			t.Errorf("%s.spv changed: SHA-256 %s, pinned %s", name, got, want)
		}
	}
}
