"""rtl stage: synthesizable Verilog kernels and the generator of their ROM files from the model file."""
