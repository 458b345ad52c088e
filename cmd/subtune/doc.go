// Command subtune finds the intrinsic task-specific subspace of a pre-trained
// transformer encoder and fine-tunes inside it (Zhang, Liu & Shao, ACL 2023).
//
// Subcommands, one file each: finetune (with the subspace and --disable_dims
// extensions), extract, reproduce, pretrain (and pretrain export), outliers,
// predict and tokenize. The logic lives in the packages they call.
package main
