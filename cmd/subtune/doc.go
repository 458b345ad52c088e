// Command subtune finds the intrinsic task-specific subspace of a pre-trained
// transformer encoder and fine-tunes inside it (Zhang, Liu & Shao, ACL 2023).
//
// Subcommands, one file each: finetune (its subspace and --disable_dims
// options in files of their own), extract, reproduce, pretrain (and
// pretrain export), outliers, predict, tokenize and convert. newRootCmd
// builds the tree afresh, each command owning its options; only main
// changes process-wide settings. The logic lives in the packages they call.
package main
