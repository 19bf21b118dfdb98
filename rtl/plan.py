"""The plan of a top: the devices it may target, how its MAC engines pack their lane pairs, how many copies a
kernel may have, and each engine's lanes x SIMD under a cycle budget (Plan). rtl/planner.py chooses the budget;
rtl/gen.py writes the parameters that follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from ..quant.model_file import Op
from ..quant.ops import named

# ops whose kernel may run as several copies that share the images (Plan.max_copies): one input and output
# stream per image each, any number of images in flight (the table of ops' `copyable`)
COPYABLE = named("copyable")

XC7Z020 = {"LUT": 53_200, "FF": 106_400, "DSP": 220, "BRAM36": 140}  # the PYNQ-Z2's device
# devices a top's Yosys count is compared with (rtl/synth.py maps to the family's cells): the product's board,
# and large parts for budgets one xc7z020 cannot hold (vendor data sheets: DS190 Zynq-7000, DS891 Zynq
# UltraScale+ MPSoC, DS890 UltraScale+ FPGAs)
DEVICES = {"xc7z020": {**XC7Z020, "family": "xc7"},
           "xczu7ev": {"LUT": 230_400, "FF": 460_800, "DSP": 1_728, "BRAM36": 312, "family": "xcup"},
           "xcvu9p": {"LUT": 1_182_240, "FF": 2_364_480, "DSP": 6_840, "BRAM36": 2_160, "family": "xcup"},
           # where open tools place and route the whole top (rtl/timing.py): 84k LUT4 and FFs, 156 18x18
           # multipliers (DSP), 208 EBRs of 18 kbit (FPGA-DS-02012 ECP5 and ECP5-5G family data sheet)
           "lfe5um5g-85f": {"LUT": 83_640, "FF": 83_640, "DSP": 156, "BRAM36": 104, "family": "ecp5"}}
XILINX_DEVICES = tuple(d for d, v in DEVICES.items() if v["family"] != "ecp5")  # what rtl/synth.py counts
# the share of each resource a top may take by the estimate, leaving room for the board design's own logic (the
# AXI DMA, interconnects, resets) and for Vivado to place it; Yosys' count checks the result
FIT = {"LUT": 0.80, "FF": 0.80, "DSP": 0.95, "BRAM36": 0.90}
# the DSP slices a top's plan may use by default (rtl/planner.py)
TOP_DSP = int(FIT["DSP"] * XC7Z020["DSP"])
# families whose DSP slice multiplies a signed pair of 8-bit lanes in one (DSP48E1 25x18, DSP48E2 27x18): their
# tops keep every signed pair packed (rtl/mul2.v), which costs no LUTs for the second lane
DSP48_FAMILIES = ("xc7", "xcup")
BUS_BITS = 32  # AXI-Stream data width of the accelerator's pixel and logit ports (the DMA's)
# A linear with more MAC lanes than this builds its lane pairs split (rtl/mul2_split.v: one lane on the
# multiplier, the other in LUTs) instead of packed (rtl/mul2.v: both lanes in one multiply, which an ECP5
# builds as two multipliers and an adder in one cycle). Measured out of context (nextpnr-ecp5, LFE5UM5G-85F-8):
# packed, 24 lanes (attn q/k/v/proj) 138-172 MHz depending on the layer and seed (attn_k 137.8, attn_v 142.7),
# 48 lanes (mlp fc1 / fc2) 146 / 132 MHz: the multiplier plus adder step; split, fc1 180-190 MHz, fc2 175-182
# (3 seeds). Split costs LUTs (fc1 on an xc7 per Yosys: 3,326 LUT split, 1,808 packed; same 24 DSP), so the
# narrow layers (head: 1 lane 220 MHz, patch_embed: 2 lanes 177 MHz packed) keep the packing. The same holds
# for many multiplies per cycle over fewer lanes: MobileViT's 3x3 convs packed, 8 lanes x SIMD 11 (fuse) 117.1
# MHz and 4 x 11 (local) 133.2 MHz at seed 1 (88 and 44 of the ECP5's 156 multipliers), while 2 x 5 to 10 x 2
# (Swin's projections, 10 to 20 multiplies per cycle) place at 157-175 MHz packed.
SPLIT_ABOVE_LANES = 12
SPLIT_ABOVE_MULTIPLIES = 24  # lanes x SIMD


PACKINGS = ("wide", "split", "dsp48")  # how a plan builds its lane pairs (Plan.packing, mul_split)
# rtl/linear.v's MUL_SPLIT: lane pairs packed into one multiply (mul2), split into a multiplier and LUTs
# (mul2_split), or no pairs, a multiplier per lane
PACKED, SPLIT, SEPARATE = 0, 1, 2


def mul_split(lanes: int, simd: int, packing: str = "wide", signed: bool = True, depthwise: bool = False) -> int:
    """rtl/linear.v's MUL_SPLIT at this parallelism: PACKED (its default) for a depthwise engine, whose lanes
    have no pairs; else "split", always SPLIT (Plan.split_pairs); "dsp48", PACKED where
    the element is signed (one DSP48 multiply holds the pair), else PACKED or SPLIT as "wide" decides; "wide" (the
    ECP5's 18x18 multipliers), SPLIT above SPLIT_ABOVE_LANES / SPLIT_ABOVE_MULTIPLIES (its clock), else SEPARATE:
    a packed pair's 25-bit operand takes two 18x18 multipliers and an adder behind them, which in a whole top
    set the clock (tiny vit, 136.4 MHz: the adder after attn_proj's multiplier), two plain products the same two
    multipliers without it."""
    if depthwise:
        return PACKED
    if packing == "split":
        return SPLIT
    if packing == "dsp48" and signed:
        return PACKED
    if lanes > SPLIT_ABOVE_LANES or lanes * simd > SPLIT_ABOVE_MULTIPLIES:
        return SPLIT
    return PACKED if packing == "dsp48" else SEPARATE  # unsigned on a DSP48: two slices, as the tops were measured


# The most multiplies per cycle (lanes x SIMD) of one engine when a plan may copy kernels (Plan.max_copies > 1):
# more copies of the engine instead of a wider one. Measured out of context (nextpnr-ecp5, LFE5UM5G-85F-8, seed
# 1): split, 48 lanes x SIMD 1 (vit's fc1 / fc2) 178-190 MHz, 48 lanes x SIMD 3 (q at 176 cycles per image) 150.3.
COPY_MULTIPLIES = 48
# ... and its engines' lane pairs all split (Plan.split_pairs): such a plan is sized for a large device's clock,
# above what a packed pair reaches on the ECP5 (vit's head, 4 lanes packed: 174.4 / 175.4 MHz at seeds 1 / 2)

# The most copies one rtl/axis_gather.v joins. Measured out of context (nextpnr-ecp5, LFE5UM5G-85F-8): 5 and 6
# ways of 384 bits 197.4-212.4 MHz, 7 ways of 384 bits 165.9, 9 of 384 155.6, 9 of 768 137.2 (best of 3 seeds):
# its control and one-hot select spread with the ways. More copies are joined in two levels (gather_levels).
GATHER_WAYS = 6


def gather_levels(copies: int) -> tuple[int, int] | None:
    """How axis_gathers join `copies` copies: (ways of each first-level gather, number of them); (copies, 1) is
    one gather. Two levels where copies = ways x gathers, both <= GATHER_WAYS (the most ways first): first-level
    gather g takes copies g, g + gathers, g + 2 gathers, ..., so that the deal's order (image n to copy n mod
    copies) reaches it as images g, g + gathers, ... and the second level's round robin restores it. None when
    no such split exists (a prime above GATHER_WAYS, or above GATHER_WAYS**2)."""
    if copies <= GATHER_WAYS:
        return copies, 1
    return next(((ways, copies // ways) for ways in range(GATHER_WAYS, 1, -1)
                 if copies % ways == 0 and copies // ways <= GATHER_WAYS), None)


def copy_counts(max_copies: int) -> list[int]:
    """The numbers of copies a kernel may have, <= max_copies: those that gather_levels can join."""
    return [k for k in range(1, max_copies + 1) if gather_levels(k) is not None]


def fewest_copies(needed: int, max_copies: int) -> int:
    """The fewest copies >= needed that gathers can join, else the most (<= max_copies)."""
    counts = copy_counts(max_copies)
    return next((k for k in counts if k >= needed), counts[-1])

# rtl/linear.v's pipeline from the issue of a group's last step to its result slot, less its adder tree: a
# token whose groups are shorter than this waits for the previous result (the engine's header)
ENGINE_PIPELINE = 11


class Parallel(NamedTuple):
    """The parallelism of one rtl/linear.v instance: ceil(N_OUT/lanes) * ceil(N_IN/simd) cycles per token."""

    lanes: int     # MAC lanes: outputs computed at once (LANES)
    simd: int = 1  # input elements each lane takes per cycle (SIMD)

    def cycles_per_token(self, n_in: int, n_out: int) -> int:
        """Issue cycles of one token back to back with the next: groups x steps, and the wait for the
        previous result when a group is shorter than the pipeline (rtl/linear.v's header)."""
        steps = -(-n_in // self.simd)
        tree = (self.simd - 1).bit_length()  # adder-tree levels
        return -(-n_out // self.lanes) * steps + max(0, ENGINE_PIPELINE + tree - steps)

    def dsp(self, engine: Engine, packing: str = "wide") -> int:
        """Multipliers (DSP slices) of the engine: two lanes share one per input element (mul2 / mul2_split),
        an odd last lane has one of its own. One per lane and element where lanes are not paired: a depthwise
        lane has an element of its own, and mul2's two products of an unsigned (9-bit) element do not fit one
        DSP48E1 multiply (mul2_split's do: one lane on the slice, the other in LUTs)."""
        split = mul_split(self.lanes, self.simd, packing, engine.signed)
        # an ECP5 multiplier (18x18) holds one product ("wide" packing is the ECP5's: SEPARATE lanes)
        paired = not engine.depthwise and ((engine.signed and split == PACKED) or split == SPLIT)
        return self.simd * (-(-self.lanes // 2) if paired else self.lanes)


class Engine(NamedTuple):
    """What an op asks of the linear engine (engine_shape)."""

    n_in: int        # inputs per output (a depthwise conv's taps)
    n_out: int       # outputs per token (channels)
    tokens: int      # tokens (output pixels) per image
    depthwise: bool  # each lane over its own channel, SIMD 1
    signed: bool     # a signed input element (Parallel.dsp)
    floor: int = 0   # cycles per token no parallelism goes below (a conv's gather: K*K + 5)


@dataclass
class Plan:
    """Parallelism per layer: MAC lanes and SIMD of each linear engine. Each engine gets the fewest DSP slices
    (then the fewest MACs per cycle, then the smallest SIMD) that meet the cycle budget per image;
    rtl/planner.py finds the smallest budget whose estimates stay within the device (`dsp` and FIT)."""

    cycles_per_image: int = 2000
    dsp: int | None = None  # DSP slices the top may use (rtl/planner.py); None: the budget as given
    lanes: dict[str, int] = field(default_factory=dict)  # op name -> lanes, overriding the choice
    simd: dict[str, int] = field(default_factory=dict)   # op name -> SIMD, with a lanes override
    # copies of a kernel that may share its images (rtl/axis_deal.v / axis_gather.v; kernel_copies): 1 keeps
    # one instance per op, more lets a budget go below what one instance of a kernel can do
    max_copies: int = 1
    # register slices between kernels (rtl/passes.py insert_register_slices): "through" where a kernel passes
    # ready or valid through combinationally, "all" on every stream, "none"
    register_slices: str = "through"
    device: str = "xc7z020"  # the device the top is for (DEVICES): its family picks the packing of lane pairs

    @property
    def split_pairs(self) -> bool:
        """Every engine's lane pairs split (MUL_SPLIT), not only the wide ones: a plan with copies (COPY_MULTIPLIES)."""
        return self.max_copies > 1

    @property
    def packing(self) -> str:
        """How the engines build their lane pairs (mul_split): split in a plan with copies (sized for the ECP5
        clock of a large device); packed in a DSP48 where the device has one; else split where wide."""
        if self.split_pairs:
            return "split"
        return "dsp48" if DEVICES[self.device]["family"] in DSP48_FAMILIES else "wide"

    def copies_for(self, op: Op, engine: Engine) -> int:
        """Instances of the engine running `op`: the fewest (<= max_copies, a number gathers can join) of which
        one meets the budget of copies x cycles_per_image, else the most (lanes_for then says why)."""
        if op.op not in COPYABLE:
            return 1
        counts = copy_counts(self.max_copies)
        for copies in counts[:-1]:
            try:
                self._parallel(op, engine, self.cycles_per_image * copies)
                return copies
            except ValueError:
                pass
        return counts[-1]

    def lanes_for(self, op: Op, engine: Engine) -> Parallel:
        """Lanes and SIMD of (each copy of) the engine running `op`."""
        if op.name in self.lanes:
            return Parallel(self.lanes[op.name], self.simd.get(op.name, 1))
        return self._parallel(op, engine, self.cycles_per_image * self.copies_for(op, engine))

    def _parallel(self, op: Op, engine: Engine, budget: int) -> Parallel:
        n_in, n_out, tokens, depthwise, _, floor = engine
        per_token = budget // tokens
        if per_token < floor:
            raise ValueError(f"{op.name}: its gather takes {floor} cycles per token, over {budget} cycles per image")
        widest = COPY_MULTIPLIES if self.max_copies > 1 and op.op in COPYABLE else n_out * n_in
        best = None
        for groups in range(1, n_out + 1):
            lanes = -(-n_out // groups)
            if groups > 1 and lanes == -(-n_out // (groups - 1)):
                continue  # the same lanes as fewer groups
            # the smallest SIMD that can meet the budget: groups * n_in / simd <= per_token
            for simd in range(max(1, -(-groups * n_in // max(per_token, 1))), 2 if depthwise else n_in + 1):
                if lanes * simd > widest:
                    break
                p = Parallel(lanes, simd)
                if p.cycles_per_token(n_in, n_out) <= per_token:
                    key = (p.dsp(engine, self.packing), lanes * simd, simd)
                    if best is None or key < best[0]:
                        best = (key, p)
                    break
        if best is None:
            raise ValueError(f"{op.name}: no lanes x SIMD meets {budget} cycles per image "
                             f"({tokens} tokens of {n_out} outputs over {n_in} inputs)")
        return best[1]
