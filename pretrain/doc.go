// Package pretrain trains a BERT from scratch with the masked-LM objective,
// as HuggingFace's run_mlm.py does: each line of a text corpus is tokenised
// with its special tokens, the token stream is concatenated and cut into
// blocks of max_seq_length, and every batch is masked afresh (15% of tokens:
// 80% [MASK], 10% a random token, 10% unchanged). The run is checkpointed and
// resumes exactly.
package pretrain
