"""The Vivado project Tcl against the generated top and the driver: every port of vit_accel is on an interface or
connected, stream and register widths agree with the DMA and the driver, IP names are the driver's; and the Tcl
run by tclsh against stubs of the Vivado commands, from a copy of its folder on "another machine": it builds
with positive slack, and refuses negative slack, unrouted nets and an unfinished run in one line, no .bit."""

import json
import re
import shutil
import subprocess

import pytest

from vitflow.host.backends import ModelPaths
from vitflow.quant.model_file import IntModel
from vitflow.rtl.bitstream import ACCEL_RANGE, AXIL_ADDR_BITS, REGISTER_SPAN, build, top_ports, write_tcl
from vitflow.rtl.plan import BUS_BITS
from vitflow.rtl.pynq_sim import read_hwh
from vitflow.rtl.registers import ACCEL, DMA, DMA_LENGTH_BITS


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    out = tmp_path_factory.mktemp("board")
    return write_tcl(IntModel.load(ModelPaths.resolve("vit", None).model_file), out).parent


def test_tcl_matches_top_and_driver(project):
    m = IntModel.load(ModelPaths.resolve("vit", None).model_file)
    tcl, tmp_path = (project / "vit_accel.tcl").read_text(), project
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
    # byte enables on both streams (the S2MM side counts bytes by TKEEP)
    assert ports["s_axis_tkeep"] == ports["m_axis_tkeep"] == BUS_BITS // 8
    # the names the driver looks up in the overlay, in the Tcl and in the stand-in .hwh
    assert f"create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 {DMA}]" in tcl
    assert f"create_bd_cell -type module -reference vit_accel {ACCEL}]" in tcl
    cells = read_hwh(tmp_path / "rtl" / "vit_accel.hwh")
    assert cells[DMA]["parameters"]["c_sg_length_width"] == str(DMA_LENGTH_BITS) and ACCEL in cells
    assert f"{m.identity():#010x}" in tcl
    # no absolute path: the sources are globbed beside the Tcl, the ROMs named by file name
    assert str(tmp_path) not in tcl and str(tmp_path) not in (tmp_path / "rtl" / "vit_accel.v").read_text()
    roms = set(re.findall(r'_FILE\("([^"]+)"\)', (tmp_path / "rtl" / "vit_accel.v").read_text()))
    assert roms and all((tmp_path / "rtl" / "rom" / r).is_file() for r in roms)


def test_build_without_vivado_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    lines = []
    m = IntModel.load(ModelPaths.resolve("vit", None).model_file)
    assert build(m, tmp_path, log=lines.append) == 0
    assert len(lines) == 1 and "vivado is not on PATH" in lines[0] and (tmp_path / "vit_accel.tcl").is_file()


# Stubs of the Vivado commands the Tcl calls: every command not defined here does nothing (Tcl's `unknown`);
# add_files checks that each file exists; the run "writes" the .bit and .hwh where Vivado would; slack,
# unrouted nets and the run's progress come from the variables set before the Tcl is sourced.
VIVADO_STUB = """
proc unknown {args} { return "" }
proc add_files {args} {
    foreach f [lindex $args end] { if {![file exists $f]} { error "add_files: no file $f" } }
}
proc make_wrapper {args} {
    global here
    file mkdir $here/vivado/vitflow.gen/sources_1/bd/vitflow/hdl
    close [open $here/vivado/vitflow.gen/sources_1/bd/vitflow/hdl/vitflow_wrapper.v w]
}
proc launch_runs {args} {
    global here
    foreach f {vitflow.runs/impl_1/vitflow_wrapper.bit vitflow.gen/sources_1/bd/vitflow/hw_handoff/vitflow.hwh} {
        file mkdir [file dirname $here/vivado/$f]
        close [open $here/vivado/$f w]
    }
}
proc get_property {name args} {
    global progress wns whs
    switch $name { PROGRESS { return $progress } STATUS { return "stub status" } SLACK {
        if {[lsearch [join $args] min] >= 0} { return $whs } else { return $wns } } }
    return ""
}
proc get_timing_paths {args} { return $args }
proc get_nets {args} { global unrouted; return $unrouted }
proc report_timing_summary {args} { close [open [lindex $args end] w] }
proc report_utilization {args} {
    set table "| Slice LUTs    | 37529 |     0 |     53200 | 70.54 |\n| Slice Registers | 73000 | 0 | 106400 | 68.6 |"
    if {[lindex $args 0] eq "-return_string"} { return $table }
    set f [open [lindex $args end] w]; puts $f $table; close $f
}
"""


@pytest.mark.parametrize("case, refusal", [
    ({"progress": "100%", "wns": "0.412", "whs": "0.031", "unrouted": "{}"}, None),
    ({"progress": "100%", "wns": "-0.250", "whs": "0.031", "unrouted": "{}"}, "timing not met"),
    ({"progress": "100%", "wns": "0.412", "whs": "-0.010", "unrouted": "{}"}, "timing not met"),
    ({"progress": "100%", "wns": "0.412", "whs": "0.031", "unrouted": "{n1 n2}"}, "2 nets not routed"),
    ({"progress": "72%", "wns": "0.412", "whs": "0.031", "unrouted": "{}"}, "implementation did not finish"),
])
def test_tcl_checks_its_own_timing(project, tmp_path, case, refusal):
    if shutil.which("tclsh") is None:
        pytest.skip("tclsh is not installed (apt-get install tcl)")
    moved = tmp_path / "elsewhere"  # the folder `make package` ships, on another machine
    shutil.copytree(project, moved)
    stub = tmp_path / "stub.tcl"
    stub.write_text(VIVADO_STUB + "".join(f"set {k} {v}\n" for k, v in case.items())
                    + f"source {moved / 'vit_accel.tcl'}\n")
    r = subprocess.run(["tclsh", str(stub)], capture_output=True, text=True, timeout=60)
    report = json.loads((moved / "board.json").read_text()) if refusal != "implementation did not finish" else None
    if refusal is None:
        assert r.returncode == 0, r.stderr
        assert (moved / "vit_accel.bit").is_file() and (moved / "vit_accel.hwh").is_file()
        assert report["wns_ns"] == 0.412 and report["utilization"] == {"lut": 37529, "ff": 73000}
        assert (moved / "timing_summary.rpt").is_file() and (moved / "utilization.rpt").is_file()
    else:
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith("vitflow: ") and refusal in lines[0]
        assert not (moved / "vit_accel.bit").exists()
