"""The Vivado project Tcl against the generated top and the driver: every port of vit_accel is on an interface or
connected, stream and register widths agree with the DMA and the driver, IP names are the driver's."""

import re
from pathlib import Path

from vitflow.host.backends import ModelPaths
from vitflow.host.board import ACCEL, DMA
from vitflow.quant.model_file import IntModel
from vitflow.rtl.bitstream import ACCEL_RANGE, AXIL_ADDR_BITS, REGISTER_SPAN, build, top_ports, write_tcl
from vitflow.rtl.gen import BUS_BITS


def test_tcl_matches_top_and_driver(tmp_path):
    m = IntModel.load(ModelPaths.resolve("vit", None).model_file)
    tcl = write_tcl(m, tmp_path).read_text()
    ports = top_ports(tmp_path / "rtl" / "vit_accel.v")
    # every port: the clock and reset nets, or one of the three bus interfaces the Tcl connects
    buses = {"s_axis", "m_axis", "s_axil"}
    assert all(p in ("clk", "rst") or p.rsplit("_", 1)[0] in buses for p in ports), ports
    for bus in buses:
        assert f"{ACCEL}/{bus}]" in tcl
    assert f"[get_bd_pins {ACCEL}/clk]" in tcl and f"[get_bd_pins {ACCEL}/rst]" in tcl
    # widths: the DMA's stream widths are the top's; the register window holds the register map
    assert ports["s_axis_tdata"] == ports["m_axis_tdata"] == BUS_BITS
    assert f"c_m_axis_mm2s_tdata_width {{{BUS_BITS}}}" in tcl and f"c_s_axis_s2mm_tdata_width {{{BUS_BITS}}}" in tcl
    assert ports["s_axil_awaddr"] == ports["s_axil_araddr"] == AXIL_ADDR_BITS
    assert REGISTER_SPAN <= 1 << AXIL_ADDR_BITS <= int(ACCEL_RANGE.rstrip("K")) * 1024
    # the names the driver looks up in the overlay, and every source and ROM file the project reads exists
    assert f"create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 {DMA}]" in tcl
    assert f"create_bd_cell -type module -reference vit_accel {ACCEL}]" in tcl
    files = [f for group in re.findall(r"add_files -norecurse \{([^}]*)\}", tcl) for f in group.split()]
    assert files and all(Path(f).is_file() for f in files)
    assert f"{m.identity():#010x}" in tcl


def test_build_without_vivado_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    lines = []
    m = IntModel.load(ModelPaths.resolve("vit", None).model_file)
    assert build(m, tmp_path, log=lines.append) == 0
    assert len(lines) == 1 and "vivado is not on PATH" in lines[0] and (tmp_path / "vit_accel.tcl").is_file()
