package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/subtune/subtune/tokenizer"
)

func Example() {
	tok, err := tokenizer.Load("testdata/bert-base-uncased")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Tokenize("Héllo, unaffable world!"))

	enc := tok.Encode("How old are you?", "I'm 6.", true, 128)
	fmt.Println(enc.InputIDs)
	fmt.Println(enc.TokenTypeIDs)

	batch := tokenizer.PadBatch([]tokenizer.Encoding{enc, tok.Encode("Hi!", "", false, 128)}, tok.PadID())
	fmt.Println(batch.Batch, batch.SeqLen, batch.InputIDs[batch.SeqLen:])
	// Output:
	// [hello , una ##ffa ##ble world !]
	// [101 2129 2214 2024 2017 1029 102 1045 1005 1049 1020 1012 102]
	// [0 0 0 0 0 0 0 1 1 1 1 1 1]
	// 2 13 [101 7632 999 102 0 0 0 0 0 0 0 0 0]
}
