package kernels

import (
	"errors"
	"math"

	"vkcnn/vk"
)

var (
	bnPartsShader     = groupShader("batchnorm_stats", "chunks", bnStatsAccess, 6, 0, 0)
	bnBatchShader     = groupShader("batchnorm_stats", "batch", bnStatsAccess, 6, 1, 0)
	bnUpdateShader    = groupShader("batchnorm_stats", "batch, updating", bnStatsAccess, 6, 1, 1)
	bnMovingShader    = groupShader("batchnorm_stats", "moving", bnStatsAccess, 6, 2, 0)
	bnNormalizeShader = groupShader("batchnorm_normalize", "", []vk.Access{vk.Read, vk.Read, vk.Read, vk.Read, vk.Write}, 2)
	bnGradPartsShader = groupShader("batchnorm_grad", "chunks", bnGradAccess, 4, 0)
	bnGradTotalShader = groupShader("batchnorm_grad", "totals", bnGradAccess, 4, 1)
	bnInputGradShader = groupShader("batchnorm_dx", "", []vk.Access{vk.Read, vk.ReadWrite, vk.Read, vk.Read, vk.Read, vk.Read, vk.Read}, 3)
	bnStatsAccess     = []vk.Access{vk.Read, vk.Read, vk.ReadWrite, vk.Write, vk.ReadWrite, vk.ReadWrite}
	bnGradAccess      = []vk.Access{vk.Read, vk.Read, vk.Read, vk.Read, vk.ReadWrite, vk.Write, vk.Write}
)

// bnChunk is how many rows one invocation of a first stage reduces.
const bnChunk = 64

// BatchNorm is batch normalization of NHWC values as Keras does it, per
// channel over every pixel of the step's valid samples: Batch samples of
// Pixels rows (H x W) and C channels.
type BatchNorm struct {
	Batch, Pixels, C int
	Eps, Momentum    float32
}

func (b BatchNorm) rows() int { return b.Batch * b.Pixels }

func (b BatchNorm) chunks() int { return (b.rows() + bnChunk - 1) / bnChunk }

// Scratch is the floats of scratch the statistics and gradients need.
func (b BatchNorm) Scratch() int { return 2 * b.chunks() * b.C }

// StatsFloats is the size of the statistics buffer: a mean and an inverse
// standard deviation per channel.
func (b BatchNorm) StatsFloats() int { return 2 * b.C }

func (b BatchNorm) statsPush() []uint32 {
	return []uint32{uint32(b.rows()), uint32(b.C), bnChunk, uint32(b.Pixels), math.Float32bits(b.Eps), math.Float32bits(b.Momentum)}
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
	args := []vk.Range{x, step, scratch, stats, movingMean, movingVar}
	total := bnBatchShader
	if update {
		total = bnUpdateShader
	}
	return errors.Join(
		single(ctx, rec, bnPartsShader, b.chunks()*b.C, b.statsPush(), args),
		single(ctx, rec, total, b.C, b.statsPush(), args))
}

// MovingStats records the statistics of evaluation, from the moving
// averages, into stats; the other arguments are those of BatchStats.
func (b BatchNorm) MovingStats(ctx *vk.Context, rec *vk.Recording, x, step, scratch, stats, movingMean, movingVar vk.Range) error {
	if err := b.checkStats(x, step, scratch, stats, movingMean, movingVar); err != nil {
		return err
	}
	return single(ctx, rec, bnMovingShader, b.C, b.statsPush(), []vk.Range{x, step, scratch, stats, movingMean, movingVar})
}

// Normalize records y = gamma (x - mean) / sqrt(var + eps) + beta with the
// statistics in stats, over every sample.
func (b BatchNorm) Normalize(ctx *vk.Context, rec *vk.Recording, x, stats, gamma, beta, y vk.Range) error {
	n := b.rows() * b.C
	if err := errors.Join(needFloats("batch norm input", x, n), needFloats("batch norm statistics", stats, b.StatsFloats()),
		needFloats("gamma", gamma, b.C), needFloats("beta", beta, b.C), needFloats("batch norm output", y, n)); err != nil {
		return err
	}
	return single(ctx, rec, bnNormalizeShader, n, []uint32{uint32(n), uint32(b.C)}, []vk.Range{x, stats, gamma, beta, y})
}

// Gradients records the gradients of gamma and beta for output gradient
// dy of a training step, over its valid samples, with the batch
// statistics in stats, through scratch.
func (b BatchNorm) Gradients(ctx *vk.Context, rec *vk.Recording, x, dy, step, stats, scratch, dGamma, dBeta vk.Range) error {
	n := b.rows() * b.C
	if err := errors.Join(needFloats("batch norm input", x, n), needFloats("batch norm output gradient", dy, n), needFloats("step", step, StepWords),
		needFloats("batch norm statistics", stats, b.StatsFloats()), needFloats("batch norm scratch", scratch, b.Scratch()),
		needFloats("gamma gradient", dGamma, b.C), needFloats("beta gradient", dBeta, b.C)); err != nil {
		return err
	}
	push := []uint32{uint32(b.rows()), uint32(b.C), bnChunk, uint32(b.Pixels)}
	args := []vk.Range{x, dy, step, stats, scratch, dGamma, dBeta}
	return errors.Join(
		single(ctx, rec, bnGradPartsShader, b.chunks()*b.C, push, args),
		single(ctx, rec, bnGradTotalShader, b.C, push, args))
}

// InputGradient records, in place over the output gradient dy, the input
// gradient of a training step from the gradients Gradients left in dGamma
// and dBeta: zero for the padding samples.
func (b BatchNorm) InputGradient(ctx *vk.Context, rec *vk.Recording, x, dy, step, stats, gamma, dGamma, dBeta vk.Range) error {
	n := b.rows() * b.C
	if err := errors.Join(needFloats("batch norm input", x, n), needFloats("batch norm output gradient", dy, n), needFloats("step", step, StepWords),
		needFloats("batch norm statistics", stats, b.StatsFloats()), needFloats("gamma", gamma, b.C),
		needFloats("gamma gradient", dGamma, b.C), needFloats("beta gradient", dBeta, b.C)); err != nil {
		return err
	}
	return single(ctx, rec, bnInputGradShader, n, []uint32{uint32(n), uint32(b.C), uint32(b.Pixels)}, []vk.Range{x, dy, step, stats, gamma, dGamma, dBeta})
}
