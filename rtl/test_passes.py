"""Each netlist pass of rtl/passes.py on a small hand-made graph (no model file): a source kernel whose output is
read by a layernorm and, as the skip operand, by a residual_add; and the Verilog that emit_body writes for it."""

import pytest

from vitflow.rtl.netlist import Instance, emit_body
from vitflow.rtl.passes import (
    Top,
    insert_broadcasts,
    insert_copies,
    insert_register_slices,
    insert_skip_fifos,
)
from vitflow.rtl.plan import Plan


def small(copies: int = 1, slices: str = "through") -> Top:
    """src -> x -> {ln (-> y), add.a}; ln's y -> add.b -> out: a residual connection around a layernorm."""
    net = Top(plan=Plan(register_slices=slices))
    for name in ("x", "y", "out"):
        net.stream(name, 16, tokens=4)
    net.add(Instance("src", "linear", {}, {"m_axis": "x"}))
    net.add(Instance("ln", "layernorm", {"D": 2}, {"s_axis": "x", "m_axis": "y"}, info={"layer": "ln"}))
    net.add(Instance("add", "residual_add", {}, {"s_axis_a": "x", "s_axis_b": "y", "m_axis": "out"}))
    net.add(Instance("sink", "pool", {}, {"s_axis": "out"}))
    net.copies["ln"] = copies
    return net


def test_a_tensor_with_two_readers_gets_a_broadcast():
    net = insert_broadcasts(small())
    bc = net.instances["x_bc"]
    assert bc.module == "axis_broadcast" and bc.params == {"WIDTH": 16, "OUTPUTS": 2}
    assert bc.ports == {"s_axis": "x", "m_axis": ["x_to_ln_0", "x_to_add_0"]}
    assert [n for n in net.instances][:2] == ["src", "x_bc"]  # right after the driver
    assert net.instances["ln"].ports["s_axis"] == "x_to_ln_0" and net.instances["add"].ports["s_axis_a"] == "x_to_add_0"
    assert all(len(net.readers(s)) <= 1 for s in net.streams)


def test_the_skip_branch_of_a_join_waits_in_a_fifo():
    net = insert_skip_fifos(insert_broadcasts(small(copies=2)))
    fifo = net.instances["x_to_add_0_fifo"]
    assert fifo.ports == {"s_axis": "x_to_add_0_skip", "m_axis": "x_to_add_0"}
    assert fifo.params == {"WIDTH": 16, "DEPTH": 32}  # 4 images x 2 copies x 4 tokens
    assert "x_to_ln_0_fifo" not in net.instances  # the layernorm's branch goes straight on


def test_copies_are_dealt_and_gathered():
    net = insert_copies(insert_skip_fifos(insert_broadcasts(small(copies=3))))
    assert "ln" not in net.instances
    copies = [net.instances[f"ln_copy{j}"] for j in range(3)]
    assert all(c.info == {"layer": "ln", "copies": 3} and c.params == {"D": 2} for c in copies)
    deal, gather = net.instances["ln_deal0"], net.instances["ln_gather"]
    assert deal.ports["s_axis"] == "x_to_ln_0" and deal.params == {"WIDTH": 16, "WAYS": 3, "TOKENS": 4}
    assert [net.readers(s)[0].inst.name for s in deal.ports["m_axis"]] == [f"ln_copy{j}_in0_fifo" for j in range(3)]
    assert gather.ports == {"s_axis": [f"ln_copy{j}_out" for j in range(3)], "m_axis": "y"}
    assert gather.params == {"WIDTH": 16, "WAYS": 3, "TOKENS": 4, "DEPTH": 4}


def test_nine_copies_are_gathered_in_two_levels():
    net = insert_copies(insert_broadcasts(small(copies=9)))
    firsts = [net.instances[f"ln_gather{g}"] for g in range(3)]
    assert firsts[1].ports["s_axis"] == ["ln_copy1_out", "ln_copy4_out", "ln_copy7_out"]  # copies g, g + 3, g + 6
    assert net.instances["ln_gather"].ports["s_axis"] == [f"ln_gather{g}_out" for g in range(3)]


@pytest.mark.parametrize("policy, sliced", [
    ("through", {"x", "out"}),  # the broadcast's input, the residual_add's and its reader's (pool) stream
    ("all", {"x", "x_to_ln_0", "x_to_add_0", "x_to_add_0_skip", "y", "out"}),
    ("none", set())])
def test_register_slices(policy, sliced):
    net = insert_register_slices(insert_skip_fifos(insert_broadcasts(small(slices=policy))))
    slices = {i.ports["s_axis"]: i for i in net.instances.values() if i.module == "axis_register"}
    assert set(slices) == sliced
    for s, inst in slices.items():
        assert inst.name == f"{s}_slice" and inst.ports["m_axis"] == f"{s}_reg" and inst.params == {"WIDTH": 16}
        assert len(net.readers(s)) == 1 and net.readers(f"{s}_reg")[0].inst.module != "axis_register"


def test_emitted_verilog_wires_vector_ports_and_unused_tlasts():
    decl, body = emit_body(insert_broadcasts(small()))
    text = "\n".join(decl + body)
    # a broadcast's shared tdata copied onto each branch; valid and ready as concatenations, way 0 last
    assert ".m_axis_tvalid({x_to_add_0_tvalid, x_to_ln_0_tvalid})" in text
    assert "assign x_to_ln_0_tdata = x_bc_m_axis_tdata;" in text and "wire [15:0] x_bc_m_axis_tdata;" in text
    # residual_add's b follows a's framing: its TLAST is named as unused, not connected
    assert ".s_axis_b_tdata(y_tdata)" in text and ".s_axis_b_tlast" not in text
    assert "wire unused_tlast = &{1'b0, y_tlast};" in text


def test_no_slice_where_the_ready_path_ends_in_a_flip_flop():
    """fc1 -> gelu -> fc2: gelu's ready follows fc2's, which is a register (linear.v's rdy): no chain, no slice;
    before a layernorm (its ready is logic) the same gelu gets one."""
    def chain(reader: str) -> set[str]:
        net = Top(plan=Plan())
        for name in ("h", "g"):
            net.stream(name, 16)
        net.add(Instance("fc1", "linear", {}, {"m_axis": "h"}))
        net.add(Instance("gelu", "gelu", {}, {"s_axis": "h", "m_axis": "g"}))
        net.add(Instance("next", reader, {}, {"s_axis": "g"}))
        sliced = insert_register_slices(net).instances.values()
        return {i.ports["s_axis"] for i in sliced if i.module == "axis_register"}
    assert chain("linear") == set() and chain("layernorm") == {"g"}
