package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vkcnn/vkcnn"
	"github.com/vkcnn/vkcnn/runfolder/runfoldertest"
)

// TestServe sends 200 requests from 8 concurrent clients to the server on
// a loopback port: every answer must be the library's prediction of the
// same image, and requests must share device submissions. It logs the
// latency and throughput.
func TestServe(t *testing.T) {
	// The user's own tuning cache must not change what the test runs.
	t.Setenv("VKCNN_TUNING", filepath.Join(t.TempDir(), "tuning.json"))
	dir := t.TempDir()
	if err := runfoldertest.Write(dir); err != nil {
		t.Fatal(err)
	}
	run, err := vkcnn.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := vkcnn.OpenDevice(vkcnn.DeviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := dev.Close(); err != nil {
			t.Error(err)
		}
	}()
	p, err := dev.NewPredictor(run, vkcnn.PredictOptions{Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// 20 images of the three classes, as PNG and as JPEG, and what the
	// library predicts for each, alone.
	type sample struct {
		body []byte
		want Answer
	}
	var samples []sample
	for i := range 20 {
		var buf bytes.Buffer
		img := runfoldertest.Image(i%3, uint64(i))
		if i%2 == 0 {
			err = png.Encode(&buf, img)
		} else {
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
		}
		if err != nil {
			t.Fatal(err)
		}
		decoded, _, err := image.Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		pred, err := p.Predict(decoded)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, sample{buf.Bytes(), Answer{Class: pred[0].Class, Name: pred[0].Name, Probabilities: pred[0].Probabilities}})
	}

	s := newServer(run, p)
	web := httptest.NewServer(s) // listens on 127.0.0.1
	defer web.Close()
	const requests, clients = 200, 8
	latencies := make([]time.Duration, requests)
	errs := make(chan error, requests)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < requests; i += clients {
				want := samples[i%len(samples)]
				sent := time.Now()
				got, err := post(web.URL+"/predict", want.body)
				latencies[i] = time.Since(sent)
				if err == nil && !equal(got, want.want) {
					err = fmt.Errorf("request %d: %+v, the library says %+v", i, got, want.want)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	submissions := s.submissions.Load()
	if submissions >= requests {
		t.Errorf("%d requests took %d device submissions: none shared one", requests, submissions)
	}
	slices.Sort(latencies)
	t.Logf("%d requests from %d clients in %v: %.0f requests/s; %d device submissions (%.1f images each); latency median %v, 95th percentile %v, max %v",
		requests, clients, elapsed.Round(time.Millisecond), requests/elapsed.Seconds(), submissions, float64(requests)/float64(submissions),
		latencies[requests/2].Round(time.Microsecond), latencies[requests*95/100].Round(time.Microsecond), latencies[requests-1].Round(time.Microsecond))

	// What is not an image is refused, alone.
	resp, err := http.Post(web.URL+"/predict", "image/png", bytes.NewReader([]byte("not an image")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a text body: status %d", resp.StatusCode)
	}
}

func post(url string, body []byte) (Answer, error) {
	var a Answer
	resp, err := http.Post(url, "image/png", bytes.NewReader(body))
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("status %s", resp.Status)
	}
	return a, json.NewDecoder(resp.Body).Decode(&a)
}

func equal(a, b Answer) bool {
	return a.Class == b.Class && a.Name == b.Name && slices.Equal(a.Probabilities, b.Probabilities)
}
