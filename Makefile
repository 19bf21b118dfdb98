# Thin wrappers over the `vitflow` CLI and pytest. A fresh machine needs only `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
VITFLOW := $(VENV)/bin/vitflow
PYTEST_ARGS ?=

.PHONY: install demo test test-slow train lint clean hls sim timing timing-whole gate-level bitstream package report sweep scale docs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: the CPU wheel on disk; anything else pulls a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all]'
	@command -v iverilog >/dev/null || echo "note: Icarus Verilog (iverilog) is not installed; its tests skip (Debian: apt-get install iverilog)"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VITFLOW) demo

# Default suite: every layer of the stack, whole-test-set bit-exactness for the shipped models, < 15 min, on every
# core (pytest-xdist; a test file's tests on one worker; workers that build the same simulator or HLS project take
# turns, vitflow.build.locked)
WORKERS ?= auto
test: install
	$(PY) -m pytest -n $(WORKERS) --dist loadfile -m "not slow" --junitxml=build/test-results.xml $(PYTEST_ARGS)

# Slow suite: training each architecture to its accuracy target, whole-split C-sim and RTL (vit_accel) runs, the
# Icarus (4-state) twins of the Verilator runs (on the whole tops: X after reset and a reset mid-frame, few
# images); on every core, test by test (--dist load: the long runs spread over the workers; workers that build the
# same simulator take turns). The gate-level run is make gate-level.
test-slow: install
	$(PY) -m pytest -n $(WORKERS) --dist load -m slow -k "not gate_level" $(PYTEST_ARGS)

# The documentation site (docs/*.md, Sphinx + myst-parser) -> build/docs/html; warnings are errors
docs: install
	$(PY) -m sphinx -W --keep-going -q -b html docs build/docs/html
	@echo "wrote build/docs/html/index.html"

# Retrain the shipped models (about 5-10 minutes each on 2 cores) into model/pretrained/.
train: install
	for a in vit mobilevit swin; do $(VITFLOW) train --arch $$a --out model/pretrained/$$a --quiet || exit 1; done

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf build .pytest_cache

# hls4ml projects per kernel and per model under build/hls/, C-sim checked against golden -> build/hls/report.json
hls: install
	$(VITFLOW) hls --arch all

# RTL testbenches (every kernel + the whole vit_accel of vit, mobilevit and swin; cocotb + Verilator) vs golden,
# Yosys xc7 resources of every instance of each top -> build/sim/report.json, build/sim/ARCH/{report,resources}.json
sim: install
	$(VITFLOW) sim

# Place and route of every distinct kernel instance of each top (yowasp Yosys + nextpnr-ecp5, LFE5UM5G-85F speed 8,
# out of context): Fmax per instance, the top's clock, critical paths -> build/sim/ARCH/timing.json
timing: install
	for a in vit mobilevit swin; do $(VITFLOW) timing --arch $$a || exit 1; done

# The whole vit top placed and routed in one piece on the ECP5-85F (not out of context; the fastest plan that fits
# it, or WHOLE_CYCLES), an ECP5 bitstream (ecppack), beside the same plan's instances placed alone (worst of three
# seeds) -> build/sim/vit/whole/whole.json, build/sim/vit/whole/pnr-seed1/vit_accel.bit. An hour or more on two cores.
WHOLE_CYCLES ?=
timing-whole: install
	$(VITFLOW) timing --arch vit --whole $(if $(WHOLE_CYCLES),--cycles $(WHOLE_CYCLES))

# The gate-level netlist of the vit top (Yosys synth_xilinx, flattened; Yosys' xc7 cell models; block RAMs as
# distributed RAM, which the models can simulate) through the top's cocotb testbench on Verilator: golden logits on
# 23 images under backpressure, 0 mismatches (rtl/gate_level.py). About 2.5 hours for the vit on two cores (its
# netlist is 361 MB of C++ for Verilator: 100 min to compile, 43 to run); VITFLOW_TOP_MODELS=FILE.npz: your model's
# top instead (the tiny vit of docs/rtl.md: about 10 minutes).
gate-level: install
	$(PY) -m pytest -m slow -k "gate_level and verilator" rtl_tests/vit_accel/test_vit_accel.py

# build/report/REPORT.md + PNG plots: accuracy (measured here), the verification ladder, clock, cycles, images/s,
# resources and host throughput read from the JSON reports of make hls / sim / timing and vitflow bench --out,
# beside published figures (host/published.toml); a missing report is a "not measured" line with its command
report: install
	$(VITFLOW) report

# Design-space sweep (host/sweep.py): weight bits x width x depth x Plan's cycle budget, each trial trained (vitflow
# train), its top generated, synthesized (Yosys) and simulated on 20 test images (+ 3 edge; cycles per image) ->
# build/sweep/vit/sweep.json + Pareto plots; trials cached, a re-run resumes. More through SWEEP_ARGS, e.g.
# --timing (Fmax, images/s), --workers 4, --ray [ADDRESS], --epochs N
SWEEP_ARGS ?=
sweep: install
	$(VITFLOW) sweep --name vit --weight-bits 8,4 --dim 24,48 --depth 1,2 --budget 2000,4000 --sim 20 $(SWEEP_ARGS)

# Past the PYNQ-Z2 (host/scale.py): the vit top at a budget of SCALE_CYCLES per image, kernels in copies that share
# the images, Yosys against an xcvu9p, simulated on 20 test images (+ 3 edge) against golden, every instance placed
# (nextpnr-ecp5): clock and images/s -> build/scale/vit-CYCLES-xcvu9p/report.json. 176: the least the vit allows
# (patch_embed, which runs as one instance: 11 cycles per token x 16 tokens). An instance placed below SCALE_MHZ is
# placed again with the next seeds: 180 MHz at 180 cycles is the 1,000,000 images/s mark
SCALE_CYCLES ?= 176
SCALE_MHZ ?= 180
scale: install
	$(VITFLOW) scale --arch vit --cycles $(SCALE_CYCLES) --device xcvu9p --sim 20 --timing --target-mhz $(SCALE_MHZ)

# Vivado project for the PYNQ-Z2 (PS7 + AXI DMA + vit_accel) -> build/board/vit_accel.tcl; with vivado on PATH
# also vit_accel.bit + vit_accel.hwh (without: one line, exit 0)
bitstream: install
	$(VITFLOW) bitstream

# What goes onto the board: the overlay (when built), the model file, the digits test split and a wheel that
# installs with numpy + Pillow only
package: bitstream
	cp model/pretrained/vit.npz model/data/digits_test.npz host/notebooks/vit_accel.ipynb build/board/
	$(PY) -m pip wheel -q --no-deps -w build/board .
	@ls build/board
