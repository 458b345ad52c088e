package tokenizer

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// bertNormalizer is HF's BertNormalizer. Its steps run in HF's order:
// clean_text, handle_chinese_chars, strip_accents, lowercase.
type bertNormalizer struct {
	cleanText    bool
	chineseChars bool
	stripAccents bool // already resolved: HF strips when strip_accents is true, or unset and lowercase
	lowercase    bool
}

// normalize returns the normalised form of s, built in sc's buffers (valid
// until sc's next use).
//
// Invalid UTF-8 bytes read as U+FFFD, which clean_text then drops.
func (n *bertNormalizer) normalize(sc *scratch, s string) []byte {
	ascii := true
	tmp := sc.tmp[:0]
	dst := sc.norm[:0]
	defer func() { sc.tmp, sc.norm = tmp, dst }()
	for _, r := range s {
		if r >= utf8.RuneSelf {
			ascii = false
		}
		if n.cleanText {
			if r == 0 || r == utf8.RuneError || isBertRemoved(r) {
				continue
			}
			if isWhiteSpace(r) {
				r = ' '
			}
		}
		if n.chineseChars && isChinese(r) {
			tmp = append(tmp, ' ')
			tmp = utf8.AppendRune(tmp, r)
			tmp = append(tmp, ' ')
			continue
		}
		tmp = utf8.AppendRune(tmp, r)
	}
	if ascii {
		// Nothing to decompose; only ASCII letters change case.
		for _, c := range tmp {
			if n.lowercase && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		return dst
	}
	src := tmp
	if n.stripAccents {
		sc.nfd = appendNFD(sc.nfd[:0], src)
		src = sc.nfd
	}
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		i += size
		if n.stripAccents && isNonspacingMark(r) {
			continue
		}
		if n.lowercase {
			dst = appendLower(dst, r)
		} else {
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

// appendNFD appends the NFD form of src to dst, leaving alone the code points
// that HF's older normalisation tables do not decompose.
func appendNFD(dst, src []byte) []byte {
	start := 0
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r >= 0x10000 && unicode.Is(hfNoDecompose, r) {
			dst = norm.NFD.Append(dst, src[start:i]...)
			dst = append(dst, src[i:i+size]...)
			start = i + size
		}
		i += size
	}
	return norm.NFD.Append(dst, src[start:]...)
}
