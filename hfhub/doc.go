// Package hfhub fetches HuggingFace model repositories into the cache
// huggingface_hub shares with Python users, and resolves what a user types
// as a model — a folder, "name", "org/name" or "org/name@revision" — to a
// local model folder, as transformers' from_pretrained reads its first
// argument. It follows huggingface_hub's environment (HF_ENDPOINT,
// HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, HF_TOKEN, ...) and network rules:
// retries with backoff, resumed downloads, a read-idle deadline, and the
// cache when the hub is unreachable or refuses to answer.
//
// Reading the folder is package checkpoint's concern.
package hfhub
