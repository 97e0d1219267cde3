// Command serve answers predictions of a trained run over HTTP: POST a PNG
// or JPEG to /predict, get its class and every class's probability as
// JSON. Requests that arrive together are classified together, in one
// device submission of up to the predictor's batch.
//
//	go run ./examples/serve --run runs/small-... --addr 127.0.0.1:8080
//	curl --data-binary @digit.png http://127.0.0.1:8080/predict
package main

import (
	"encoding/json"
	"flag"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"log"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vkcnn/vkcnn"
)

// Answer is the JSON of a prediction.
type Answer struct {
	Class         int       `json:"class"`
	Name          string    `json:"name,omitempty"`
	Probabilities []float64 `json:"probabilities"`
}

// request is one image's input waiting for its batch, and where its
// answer goes.
type request struct {
	pixels []byte
	answer chan<- result
}

type result struct {
	pred vkcnn.Prediction
	err  error
}

// server gathers concurrent requests into batches for one predictor.
type server struct {
	run         *vkcnn.Run
	p           *vkcnn.Predictor
	queue       chan request
	submissions atomic.Int64 // device submissions made
}

func newServer(run *vkcnn.Run, p *vkcnn.Predictor) *server {
	s := &server{run: run, p: p, queue: make(chan request, 4*p.Batch())}
	go s.batches()
	return s
}

// batches takes the first request waiting and whatever else has arrived,
// up to a batch, and classifies them in one submission.
func (s *server) batches() {
	for first := range s.queue {
		batch := []request{first}
		for len(batch) < s.p.Batch() && len(s.queue) > 0 {
			batch = append(batch, <-s.queue)
		}
		var pixels []byte
		for _, r := range batch {
			pixels = append(pixels, r.pixels...)
		}
		s.submissions.Add(1)
		preds, err := s.p.PredictPixels(pixels)
		for i, r := range batch {
			if err != nil {
				r.answer <- result{err: err}
			} else {
				r.answer <- result{pred: preds[i]}
			}
		}
	}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST a PNG or JPEG image", http.StatusMethodNotAllowed)
		return
	}
	img, _, err := image.Decode(http.MaxBytesReader(w, r.Body, 32<<20))
	if err != nil {
		http.Error(w, "not a PNG or JPEG image: "+err.Error(), http.StatusBadRequest)
		return
	}
	pixels, _, err := s.run.Input(img)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer := make(chan result, 1)
	s.queue <- request{pixels: pixels, answer: answer}
	res := <-answer
	if res.err != nil {
		http.Error(w, res.err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(Answer{Class: res.pred.Class, Name: res.pred.Name, Probabilities: res.pred.Probabilities})
}

func main() {
	runDir := flag.String("run", "", "run folder written by vkcnn train")
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	device := flag.String("device", "", "device index or name substring (see vkcnn devices)")
	batch := flag.Int("batch", 16, "most images a device submission classifies")
	flag.Parse()
	run, err := vkcnn.LoadRun(*runDir)
	if err != nil {
		log.Fatal(err)
	}
	dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{Device: *device, Warn: func(err error) { log.Print(err) }})
	if err != nil {
		log.Fatal(err)
	}
	p, err := dev.NewPredictor(run, vkcnn.PredictOptions{Batch: *batch})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/predict", newServer(run, p))
	log.Printf("serving %s on http://%s/predict", *runDir, *addr)
	log.Fatal((&http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}).ListenAndServe())
}
