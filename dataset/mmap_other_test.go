//go:build !unix

package dataset

// mapped says that decoded caches are read whole here.
const mapped = false
