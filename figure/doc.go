// Package figure draws the figures of subtune's reports, each saved as PNG
// and SVG (written atomically, on a white background): a labelled heatmap
// (HeatmapPlot, the transfer matrix), mean ± std curves (LinePlot, score
// against d or t), and what custom figures share: Save, Base, LogTicks and
// FileSafe. The paper's own figures are drawn by the packages that own
// their data (report's spectra, outliers' dimensions, pretrain's curves).
package figure
