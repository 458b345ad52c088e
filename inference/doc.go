// Package inference runs a sequence-classification model (BERT or RoBERTa,
// as checkpoint.Load reads it) over inputs given as token ids or as text,
// in dynamically padded batches — what `subtune predict` does, reusable by
// other commands and programs.
//
// An input is either ids — input_ids with optional token_type_ids (default
// zeros) and attention_mask (default ones), used as given — or a text with
// an optional text pair, tokenised by the model folder's tokenizer with
// truncation to Options.MaxSeqLength, as transformers' tokenizer(text,
// text_pair, truncation=True, max_length=...) does. Inputs are batched in
// order, Options.BatchSize at a time; each batch is padded on the right to
// its longest sequence with the tokenizer's pad id (the config's
// pad_token_id when the folder has no tokenizer), attention mask 0.
// Padding does not change a sequence's logits beyond float rounding.
//
// A Prediction holds the logits and, for a classifier, the label
// (id2label of the arg-max, "LABEL_<i>" when the config names none), or,
// for a regressor (one label), the score.
//
// RunJSONL reads JSON lines ({"input_ids": [...], "token_type_ids": [...],
// "attention_mask": [...]} or {"text": "...", "text_pair": "..."}; other
// keys are ignored) and writes one JSON line per input, {"logits": [...],
// "label": "..."} or {"logits": [...], "score": ...}, streaming: memory
// does not grow with the input. Errors name the input line.
package inference
