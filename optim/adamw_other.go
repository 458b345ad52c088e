//go:build !amd64 || purego

package optim

func adamwUpdate(p, g, m, v []float32, k *adamwConsts) { adamwScalar(p, g, m, v, k) }
