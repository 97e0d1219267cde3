package kernels

import (
	"errors"
	"fmt"
	"math"

	"github.com/vkcnn/vkcnn/vk"
)

var (
	bnPartsShader     = groupShader("batchnorm_stats", "chunks", bnStatsAccess, 7, 0, 0)
	bnBatchShader     = groupShader("batchnorm_stats", "batch", bnStatsAccess, 7, 1, 0)
	bnUpdateShader    = groupShader("batchnorm_stats", "batch, updating", bnStatsAccess, 7, 1, 1)
	bnMovingShader    = groupShader("batchnorm_stats", "moving", bnStatsAccess, 7, 2, 0)
	bnNormalizeShader = groupShader("batchnorm_normalize", "", []vk.Access{vk.Read, vk.Read, vk.Read, vk.Read, vk.Write}, 2)
	bnGradPartsShader = groupShader("batchnorm_grad", "chunks", bnGradAccess, 5, 0)
	bnGradTotalShader = groupShader("batchnorm_grad", "totals", bnGradAccess, 5, 1)
	bnInputGradShader = groupShader("batchnorm_dx", "", []vk.Access{vk.Read, vk.ReadWrite, vk.Read, vk.Read, vk.Read, vk.Read, vk.Read}, 4)
	// batchnorm_relu.comp's modes, whose bindings are x, dy (the output
	// forward), step, stats, gamma, beta, part, dgamma and dbeta: a mode
	// binds what it does not use to what it reads or writes anyway.
	bnNormalizeReLUShader = groupShader("batchnorm_relu", "normalize", bnReLUAccess, 5, 0)
	bnGradReLUShader      = groupShader("batchnorm_relu", "chunks", bnReLUAccess, 5, 1)
	bnInputGradReLUShader = groupShader("batchnorm_relu", "input gradient", bnReLUAccess, 5, 2)
	bnReLUAccess          = []vk.Access{vk.Read, vk.ReadWrite, vk.Read, vk.Read, vk.Read, vk.Read, vk.ReadWrite, vk.Read, vk.Read}
	bnStatsAccess         = []vk.Access{vk.Read, vk.Read, vk.ReadWrite, vk.Write, vk.ReadWrite, vk.ReadWrite}
	bnGradAccess          = []vk.Access{vk.Read, vk.Read, vk.Read, vk.Read, vk.ReadWrite, vk.Write, vk.Write}
)

// bnChunk is how many rows one invocation of a first stage reduces.
const bnChunk = 64

// BatchNorm is batch normalization of NHWC values as Keras does it, per
// channel over every pixel of the step's valid samples: Batch samples of
// Pixels rows (H x W) and C channels. With ReLU, a ReLU follows it in the
// same passes (batchnorm_relu.comp): Normalize's output is cut at 0, and
// Gradients and InputGradient take the output gradient where the ReLU
// cut it as 0, with results bit for bit those of the two layers apart.
type BatchNorm struct {
	Batch, Pixels, C int
	Eps, Momentum    float32
	ReLU             bool
}

func (b BatchNorm) rows() int { return b.Batch * b.Pixels }

func (b BatchNorm) chunks() int { return (b.rows() + bnChunk - 1) / bnChunk }

// Scratch is the floats of scratch the statistics and gradients need.
func (b BatchNorm) Scratch() int { return 2 * b.chunks() * b.C }

// StatsFloats is the size of the statistics buffer: a mean and an inverse
// standard deviation per channel.
func (b BatchNorm) StatsFloats() int { return 2 * b.C }

// statsPush is batchnorm_stats' push constants for rows from row first.
func (b BatchNorm) statsPush(first, rows int) []uint32 {
	return []uint32{uint32(rows), uint32(b.C), bnChunk, uint32(b.Pixels), math.Float32bits(b.Eps), math.Float32bits(b.Momentum), uint32(first)}
}

// gradPush is batchnorm_grad's and batchnorm_relu's push constants for
// rows from row first.
func (b BatchNorm) gradPush(first, rows int) []uint32 {
	return []uint32{uint32(rows), uint32(b.C), bnChunk, uint32(b.Pixels), uint32(first)}
}

// inChunks records work on the batch's rows in slices of whole chunks
// within the device's storage-buffer range (all of them where they fit),
// the values and gradients of each slice cut from x and dy, the rest
// bound whole: record gets the slice's first row, its rows, its first
// chunk and chunks, and its x and dy.
func (b BatchNorm) inChunks(info vk.DeviceInfo, x, dy vk.Range, record func(first, rows, chunk, chunks int, x, dy vk.Range) error) error {
	rowBytes := 4 * int64(b.C)
	per, err := perSlice(info, fmt.Sprintf("a chunk of %d rows of %d channels", bnChunk, b.C), b.chunks(), 1, bnChunk*rowBytes, 2*rowBytes)
	if err != nil {
		return err
	}
	return eachSlice(b.chunks(), per, func(chunk, chunks int) error {
		first := chunk * bnChunk
		rows := min(chunks*bnChunk, b.rows()-first)
		cut := func(r vk.Range) vk.Range {
			return vk.Range{Buf: r.Buf, Offset: r.Offset + int64(first)*rowBytes, Size: int64(rows) * rowBytes}
		}
		return record(first, rows, chunk, chunks, cut(x), cut(dy))
	})
}

// head is x's first chunk: the second stages do not read x, but must
// bind it within the device's range.
func (b BatchNorm) head(x vk.Range) vk.Range {
	return vk.Range{Buf: x.Buf, Offset: x.Offset, Size: 4 * int64(min(b.rows(), bnChunk)*b.C)}
}

func (b BatchNorm) checkStats(x, step, scratch, stats, movingMean, movingVar vk.Range) error {
	return errors.Join(needFloats("batch norm input", x, b.rows()*b.C), needFloats("step", step, StepWords),
		needFloats("batch norm scratch", scratch, b.Scratch()), needFloats("batch norm statistics", stats, b.StatsFloats()),
		needFloats("moving mean", movingMean, b.C), needFloats("moving variance", movingVar, b.C))
}

// BatchStats records the statistics of x over the step's valid samples
// into stats, through scratch; with update, the moving averages take a
// step towards them.
func (b BatchNorm) BatchStats(ctx *vk.Context, rec *vk.Recording, x, step, scratch, stats, movingMean, movingVar vk.Range, update bool) error {
	if err := b.checkStats(x, step, scratch, stats, movingMean, movingVar); err != nil {
		return err
	}
	total := bnBatchShader
	if update {
		total = bnUpdateShader
	}
	err := b.inChunks(ctx.Info, x, x, func(first, rows, chunk, chunks int, x, _ vk.Range) error {
		return single(ctx, rec, bnPartsShader, chunks*b.C, b.statsPush(first, rows),
			[]vk.Range{x, step, part(scratch, chunk, chunks, 8*int64(b.C)), stats, movingMean, movingVar})
	})
	if err != nil {
		return err
	}
	return single(ctx, rec, total, b.C, b.statsPush(0, b.rows()), []vk.Range{b.head(x), step, scratch, stats, movingMean, movingVar})
}

// MovingStats records the statistics of evaluation, from the moving
// averages, into stats; the other arguments are those of BatchStats.
func (b BatchNorm) MovingStats(ctx *vk.Context, rec *vk.Recording, x, step, scratch, stats, movingMean, movingVar vk.Range) error {
	if err := b.checkStats(x, step, scratch, stats, movingMean, movingVar); err != nil {
		return err
	}
	return single(ctx, rec, bnMovingShader, b.C, b.statsPush(0, b.rows()), []vk.Range{b.head(x), step, scratch, stats, movingMean, movingVar})
}

// Normalize records y = gamma (x - mean) / sqrt(var + eps) + beta with the
// statistics in stats, over every sample (max(y, 0) with ReLU).
func (b BatchNorm) Normalize(ctx *vk.Context, rec *vk.Recording, x, stats, gamma, beta, y vk.Range) error {
	n := b.rows() * b.C
	if err := errors.Join(needFloats("batch norm input", x, n), needFloats("batch norm statistics", stats, b.StatsFloats()),
		needFloats("gamma", gamma, b.C), needFloats("beta", beta, b.C), needFloats("batch norm output", y, n)); err != nil {
		return err
	}
	return b.inChunks(ctx.Info, x, y, func(first, rows, _, _ int, x, y vk.Range) error {
		if b.ReLU {
			return single(ctx, rec, bnNormalizeReLUShader, rows*b.C, b.gradPush(first, rows), []vk.Range{x, y, stats, stats, gamma, beta, y, gamma, beta})
		}
		return single(ctx, rec, bnNormalizeShader, rows*b.C, []uint32{uint32(rows * b.C), uint32(b.C)}, []vk.Range{x, stats, gamma, beta, y})
	})
}

// Gradients records the gradients of gamma and beta for output gradient
// dy of a training step, over its valid samples, with the batch
// statistics in stats, through scratch; gamma and beta are read with ReLU.
func (b BatchNorm) Gradients(ctx *vk.Context, rec *vk.Recording, x, dy, step, stats, gamma, beta, scratch, dGamma, dBeta vk.Range) error {
	n := b.rows() * b.C
	if err := errors.Join(needFloats("batch norm input", x, n), needFloats("batch norm output gradient", dy, n), needFloats("step", step, StepWords),
		needFloats("batch norm statistics", stats, b.StatsFloats()), needFloats("gamma", gamma, b.C), needFloats("beta", beta, b.C),
		needFloats("batch norm scratch", scratch, b.Scratch()), needFloats("gamma gradient", dGamma, b.C), needFloats("beta gradient", dBeta, b.C)); err != nil {
		return err
	}
	err := b.inChunks(ctx.Info, x, dy, func(first, rows, chunk, chunks int, x, dy vk.Range) error {
		scratch := part(scratch, chunk, chunks, 8*int64(b.C))
		if b.ReLU {
			return single(ctx, rec, bnGradReLUShader, chunks*b.C, b.gradPush(first, rows),
				[]vk.Range{x, dy, step, stats, gamma, beta, scratch, gamma, beta})
		}
		return single(ctx, rec, bnGradPartsShader, chunks*b.C, b.gradPush(first, rows), []vk.Range{x, dy, step, stats, scratch, dGamma, dBeta})
	})
	if err != nil {
		return err
	}
	head := b.head(x)
	return single(ctx, rec, bnGradTotalShader, b.C, b.gradPush(0, b.rows()), []vk.Range{head, head, step, stats, scratch, dGamma, dBeta})
}

// InputGradient records, in place over the output gradient dy, the input
// gradient of a training step from the gradients Gradients left in dGamma
// and dBeta: zero for the padding samples. Beta is read with ReLU.
func (b BatchNorm) InputGradient(ctx *vk.Context, rec *vk.Recording, x, dy, step, stats, gamma, beta, dGamma, dBeta vk.Range) error {
	n := b.rows() * b.C
	if err := errors.Join(needFloats("batch norm input", x, n), needFloats("batch norm output gradient", dy, n), needFloats("step", step, StepWords),
		needFloats("batch norm statistics", stats, b.StatsFloats()), needFloats("gamma", gamma, b.C), needFloats("beta", beta, b.C),
		needFloats("gamma gradient", dGamma, b.C), needFloats("beta gradient", dBeta, b.C)); err != nil {
		return err
	}
	return b.inChunks(ctx.Info, x, dy, func(first, rows, _, _ int, x, dy vk.Range) error {
		if b.ReLU {
			return single(ctx, rec, bnInputGradReLUShader, rows*b.C, b.gradPush(first, rows),
				[]vk.Range{x, dy, step, stats, gamma, beta, dy, dGamma, dBeta})
		}
		return single(ctx, rec, bnInputGradShader, rows*b.C, []uint32{uint32(rows * b.C), uint32(b.C), uint32(b.Pixels), uint32(first)},
			[]vk.Range{x, dy, step, stats, gamma, dGamma, dBeta})
	})
}
