"""Place and route plumbing (yowasp Yosys + nextpnr-ecp5, out of context) on one small kernel, and its cache."""

import json

from vitflow.rtl.synth import run_distinct
from vitflow.rtl.timing import place_and_route


def test_place_and_route_small_kernel():
    r = place_and_route("axis_unpack", {"WORD": 32, "WORDS": 10})
    assert r["fmax_mhz"] > 50
    cp = r["critical_path"]
    assert cp["logic_ns"] > 0 and cp["routing_ns"] > 0
    own = ("axis_unpack.v:", "axis_register.v:")  # the module and the output slice it holds
    assert cp["source_lines"] and all(line.startswith(own) for line in cp["source_lines"])
    assert r["ecp5_cells"]["TRELLIS_FF"] > 0


def test_distinct_instances_run_once(tmp_path):
    calls = []

    def tool(module, params):
        calls.append((module, params["W"]))
        return {"module": module, "w": params["W"]}

    instances = {"a": {"module": "m", "params": {"W": 1}}, "b": {"module": "m", "params": {"W": 1}},
                 "c": {"module": "m", "params": {"W": 2}}}
    first = run_distinct(instances, tmp_path, tool, "t")
    assert first["a"] == first["b"] == {"module": "m", "w": 1} and first["c"]["w"] == 2
    assert sorted(calls) == [("m", 1), ("m", 2)]
    assert run_distinct(instances, tmp_path, tool, "t") == first and len(calls) == 2  # cached
    run_distinct(instances, tmp_path, tool, "other tool")  # another tag: run again
    assert len(calls) == 4
    assert all(json.loads(p.read_text()) for p in tmp_path.glob("*.json"))


def test_rom_parameters_keyed_by_contents(tmp_path):
    """The same ROM contents under another path is the same instance (run once); other contents run again."""
    calls = []
    roms = []
    for i, text in enumerate(("01\n", "01\n", "02\n")):
        rom = tmp_path / f"dir{i}" / "w.hex"
        rom.parent.mkdir()
        rom.write_text(text)
        roms.append(f'"{rom}"')

    def tool(module, params):
        calls.append(params["ROM"])
        return {}

    instances = {f"i{i}": {"module": "m", "params": {"ROM": rom}} for i, rom in enumerate(roms)}
    run_distinct(instances, tmp_path / "cache", tool, "t")
    assert len(calls) == 2


def test_packed_pairs_are_placed_in_their_ecp5_form():
    """A DSP48 plan's engine with packed pairs of signed elements is placed split on the ECP5 and says what that
    leaves out; single-lane, unsigned, split and depthwise engines and other kernels are placed as they are."""
    from vitflow.rtl.timing import STAND_IN, ecp5_form

    packed = {"module": "linear", "params": {"LANES": 7, "SIMD": 3, "IN_SIGNED": 1}}
    assert ecp5_form(packed) == {**packed, "params": {**packed["params"], "MUL_SPLIT": 1}, "stand_in": STAND_IN}
    for same in ({"module": "linear", "params": {"LANES": 1, "IN_SIGNED": 1}},
                 {"module": "patch_embed", "params": {"LANES": 3}},  # unsigned pixels: packed by the ECP5's rule too
                 {"module": "linear", "params": {"LANES": 48, "MUL_SPLIT": 1, "IN_SIGNED": 1}},
                 {"module": "conv", "params": {"LANES": 32, "DEPTHWISE": 1}}, {"module": "gelu", "params": {"N": 96}}):
        assert ecp5_form(same) is same


def test_registered_ports_put_a_flip_flop_on_every_port(tmp_path):
    """The wrapper that times a kernel's (or the whole top's) ports as its neighbours' registers drive them: each
    input and output through a flip-flop, the clock straight through; it elaborates around the module."""
    import shutil
    import subprocess

    import pytest

    from vitflow.rtl.timing import registered_ports

    wrap = registered_ports("m", [("input", 1, "clk"), ("input", 8, "a"), ("output", 8, "y")])
    assert "always @(posedge clk) a_q <= p_a;" in wrap and "assign p_y = y_q;" in wrap
    assert "m dut (.clk(clk), .a(a_q), .y(y_w));" in wrap
    if shutil.which("iverilog") is None:
        pytest.skip("Icarus Verilog not found")
    (tmp_path / "m.v").write_text("module m (input wire clk, input wire [7:0] a, output wire [7:0] y);\n"
                                  "    assign y = a + 8'd1;\nendmodule\n")
    (tmp_path / "wrap.v").write_text(wrap)
    r = subprocess.run(["iverilog", "-g2005", "-s", "timing_wrap", "-o", str(tmp_path / "w.vvp"),
                        str(tmp_path / "m.v"), str(tmp_path / "wrap.v")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_registered_ports_two_stages(tmp_path):
    """The whole top's form (WHOLE_PORT_STAGES): two flip-flops in a row on each port, pin side first."""
    from vitflow.rtl.timing import registered_ports

    wrap = registered_ports("m", [("input", 1, "clk"), ("input", 8, "a"), ("output", 8, "y")], stages=2)
    for line in ("a_q <= p_a;", "a_q1 <= a_q;", "y_q1 <= y_w;", "y_q <= y_q1;", "assign p_y = y_q;",
                 "m dut (.clk(clk), .a(a_q1), .y(y_w));"):
        assert line in wrap, line


def test_whole_result_filed_under_the_sources_it_was_placed_from(tmp_path, monkeypatch):
    """A source edited while the whole top places (an hour) must not receive its result: the cache key is the
    one taken before the run, so the unedited top finds it and the edited one is placed again."""
    from vitflow.rtl import plan, planner, timing, top

    def write_top(model, out_dir, the_plan):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "vit_accel.v").write_text("module vit_accel; endmodule\n")
        return out_dir / "vit_accel.v", {}

    placed = []

    def place_whole(top_file, out_dir, seed, target, log):
        placed.append(seed)
        top_file.write_text("module vit_accel; /* edited meanwhile */ endmodule\n")
        return {"fmax_mhz": 100.0, "bitstream": str(out_dir / "vit_accel.bit")}

    monkeypatch.setattr(top, "write_top", write_top)
    monkeypatch.setattr(planner, "top_plan", lambda model, p: plan.Plan(cycles_per_image=800, device=timing.ECP5))
    monkeypatch.setattr(timing, "place_seeds", lambda *a, **k: {"k": {"fmax_mhz": 150.0}})
    monkeypatch.setattr(timing, "place_whole", place_whole)
    for _ in range(2):  # the second run regenerates the same top: its result is cached
        report = timing.run_whole(object(), tmp_path, "m", seed=2, log=lambda *a: None)
    assert placed == [2] and report["whole_mhz_by_seed"] == {2: 100.0} and report["ratio"] == 0.667
