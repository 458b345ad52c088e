// Package pretrain trains a BERT from scratch with the masked-LM objective,
// as HuggingFace's run_mlm.py does: each line of a text corpus is tokenised
// with its special tokens, the token stream is concatenated and cut into
// blocks of max_seq_length (or kept one line per sequence), and every batch
// is masked afresh (15% of tokens: 80% [MASK], 10% a random token, 10%
// unchanged). Optionally BERT's next-sentence prediction joins it: each
// sequence is a pair of paragraphs, the second the first's successor or a
// random one, and the model is BertForPreTraining. The run is checkpointed
// and resumes exactly; Export turns it into a model folder with its card.
package pretrain
