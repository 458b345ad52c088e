package subspace

import "strconv"

// Basis kinds.
const (
	KindIntrinsic = "intrinsic" // extracted from a fine-tuning trajectory (a file)
	KindDense     = "dense"     // Gaussian, orthonormalised per layer
	KindFastfood  = "fastfood"  // Fastfood transform (Li et al. 2018)
	KindSAID      = "said"      // Fastfood with a learned scale per layer (Aghajanyan et al. 2021)
)

// The basis file: tensor name suffixes and metadata keys.
const (
	formatName    = "subtune-subspace"
	formatVersion = 1

	basisSuffix    = ".basis"           // [d, n]: row i is direction i
	sigmaSuffix    = ".singular_values" // [d]: σ of the kept directions
	spectrumSuffix = ".spectrum"        // [t]: every σ, zero ones included
	encoderName    = "encoder"          // the global scope's one subspace

	metaFormat       = "format"
	metaVersion      = "version"
	metaKind         = "kind"
	metaScope        = "scope"
	metaRows         = "rows"
	metaDim          = "dim"
	metaT            = "t"
	metaTheta0       = "theta0_sha256"
	metaNumLayers    = "num_layers"
	metaLayerSize    = "layer_size"
	metaLayerTensors = "layer_tensors"
	metaTrajectory   = "trajectory"
	metaDType        = "dtype"
	metaRank         = "rank"
)

func layerName(l int) string { return "layer." + strconv.Itoa(l) }
