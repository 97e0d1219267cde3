//go:build unix

package dataset

// mapped says that decoded caches are memory-mapped here.
const mapped = true
