package ref

import "math"

// SGD applies one torch.optim.SGD update (dampening 0) in place, in
// float32 as sgd.comp does; momentum 0 leaves buf alone.
func SGD(p, g, buf []float32, lr, momentum float32, nesterov bool) {
	for i := range p {
		d := g[i]
		if momentum != 0 {
			buf[i] = momentum*buf[i] + d
			if nesterov {
				d += momentum * buf[i]
			} else {
				d = buf[i]
			}
		}
		p[i] -= lr * d
	}
}

// RMSprop applies one torch.optim.RMSprop update (no momentum, not
// centered) in place, in float32 as rmsprop.comp does: s = fma((1 - rho)
// g, g, s rho), then p = p + (-lr g) / (sqrt(s) + eps), 1 - rho rounded
// from float64. The fused multiply-add is float64's rounded to float32,
// which differs from float32's own in rare double roundings.
func RMSprop(p, g, s []float32, lr float32, rho float64, eps float32) {
	r, oneMinusR := float32(rho), float32(1-rho)
	for i := range p {
		s[i] = float32(math.FMA(float64(float32(oneMinusR*g[i])), float64(g[i]), float64(float32(s[i]*r))))
		p[i] = p[i] + float32(-lr*g[i])/(float32(math.Sqrt(float64(s[i])))+eps)
	}
}

// AdamW applies one torch.optim.AdamW update in place, in float32 as
// adamw.comp does: decay is 1 - lr wd, stepSize lr / (1 - beta1^t) and
// corr2Sqrt sqrt(1 - beta2^t); parameters whose mask is 0 do not decay.
func AdamW(p, g, m, v, mask []float32, decay, stepSize, corr2Sqrt, beta1, beta2, eps float32) {
	for i := range p {
		if mask[i] != 0 {
			p[i] *= decay
		}
		m[i] = beta1*m[i] + (1-beta1)*g[i]
		v[i] = beta2*v[i] + (1-beta2)*(g[i]*g[i])
		p[i] -= stepSize * (m[i] / (float32(math.Sqrt(float64(v[i])))/corr2Sqrt + eps))
	}
}

// WeightDecay adds wd p to the gradient where mask is 1.
func WeightDecay(p, g, mask []float32, wd float32) {
	for i := range p {
		if mask[i] != 0 {
			g[i] += wd * p[i]
		}
	}
}

// ClipGradNorm clips g in place to the global norm maxNorm as
// torch.nn.utils.clip_grad_norm_ (scale min(1, maxNorm / (norm + 1e-6)))
// and returns the norm before clipping, summed in float64.
func ClipGradNorm(g []float32, maxNorm float64) float64 {
	var sum float64
	for _, v := range g {
		sum += float64(v) * float64(v)
	}
	norm := math.Sqrt(sum)
	scale := float32(min(1, maxNorm/(norm+1e-6)))
	for i := range g {
		g[i] *= scale
	}
	return norm
}
