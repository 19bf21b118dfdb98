"""The accelerator's control interface (rtl/accel_ctrl.v): its AXI-Lite register map, the CTRL bits and the
AXI-Lite port list; and the board design's cell names and DMA configuration that the driver relies on. The
generator, the PYNQ driver, the pynq stand-in and the board design read them from here."""

# AXI-Lite register byte offsets of rtl/accel_ctrl.v (its header documents the bits); the testbench checks
# every one against the RTL
REGISTERS = {"CTRL": 0x00, "STATUS": 0x04, "ERRORS": 0x08, "FRAMES_IN": 0x0C, "FRAMES_OUT": 0x10,
             "FRAMES_DROPPED": 0x14, "CYCLES": 0x18, "BUSY_CYCLES": 0x1C, "LATENCY": 0x20, "IMAGE_BYTES": 0x24,
             "RESULT_WORDS": 0x28, "BATCH": 0x2C, "MODEL_ID": 0x30}
CTRL_BITS = {"RUN": 1, "CLEAR": 2, "RESET": 4}  # CTRL register bits
# AXI-Lite slave ports of rtl/accel_ctrl.v, passed through the top as s_axil_<name>: (direction, bits, name)
AXIL_PORTS = (("input", 8, "awaddr"), ("input", 1, "awvalid"), ("output", 1, "awready"),
              ("input", 32, "wdata"), ("input", 4, "wstrb"), ("input", 1, "wvalid"), ("output", 1, "wready"),
              ("output", 2, "bresp"), ("output", 1, "bvalid"), ("input", 1, "bready"),
              ("input", 8, "araddr"), ("input", 1, "arvalid"), ("output", 1, "arready"),
              ("output", 32, "rdata"), ("output", 2, "rresp"), ("output", 1, "rvalid"), ("input", 1, "rready"))

# the board design (rtl/bitstream.py): cell names that become the overlay's attributes, and the AXI DMA's settings
DMA = "axi_dma_0"
ACCEL = "vit_accel_0"
DMA_LENGTH_BITS = 26    # c_sg_length_width: a transfer holds at most 2**26 - 1 bytes (pynq reads it from the .hwh)
DMA_MEMORY_BITS = 32    # c_m_axi_mm2s/s2mm_data_width: buffers aligned to 4 bytes (no data realignment engine)
