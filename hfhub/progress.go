package hfhub

// progressMin is the size from which a download shows progress.
var progressMin int64 = 10 << 20
