"""hls stage: hls4ml projects (stock layers + vitflow custom kernels) checked against the golden model."""
