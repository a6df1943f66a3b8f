"""The simulated basket's physics, run faster than real time (time is passed in)."""

from __future__ import annotations

import math
import statistics

import pytest

from scale.sim.physics import (
    CENTRE,
    POSITIONS,
    BasketModel,
    BasketParams,
    BasketState,
    Items,
    Position,
    parse_position,
)

RATE_HZ = 100.0
# No noise, spikes or drift: the mechanical response alone.
QUIET = BasketParams(noise_g=0.0, spike_rate_hz=0.0, drift_g=0.0)


def run(model: BasketModel, seconds: float, rate_hz: float = RATE_HZ) -> list[BasketState]:
    """Step ``model`` for ``seconds`` from its current time."""
    start = model.t
    steps = round(seconds * rate_hz)
    return [model.step(start + k / rate_hz) for k in range(1, steps + 1)]


def test_step_response_settles_on_the_true_weight_with_a_slight_overshoot() -> None:
    model = BasketModel(QUIET, seed=1)
    run(model, 0.5)
    model.put(500.0)
    t_put = model.t
    states = run(model, 3.0)
    peak = max(s.total_g for s in states)
    assert 500.0 < peak <= 500.0 * (1 + QUIET.overshoot + 0.01)
    # The last time the response was outside 2 % of the step: that is the settling time.
    outside = [s.t for s in states if abs(s.total_g - 500.0) > 0.02 * 500.0]
    assert outside and outside[-1] - t_put <= QUIET.settle_s * 1.2
    assert states[-1].total_g == pytest.approx(500.0, abs=0.01)
    assert states[-1].load_g == pytest.approx(500.0)
    assert states[-1].settled


def test_motion_is_reported_until_the_response_has_settled() -> None:
    model = BasketModel(QUIET, seed=1)
    run(model, 0.5)
    assert model.state.settled
    model.put(2000.0)
    states = run(model, 3.0)
    assert not states[0].settled
    first_settled = next(s for s in states if s.settled)
    # Once declared settled, it stays settled while nothing changes, and is close to the load.
    later = [s for s in states if s.t >= first_settled.t]
    assert all(s.settled for s in later)
    assert abs(first_settled.total_g - 2000.0) <= QUIET.motion_band_g


def test_noise_has_the_configured_standard_deviation() -> None:
    params = BasketParams(noise_g=2.0, spike_rate_hz=0.0, drift_g=0.0)
    model = BasketModel(params, seed=7)
    totals = [s.total_g for s in run(model, 20.0)]
    assert statistics.pstdev(totals) == pytest.approx(2.0, rel=0.1)
    assert abs(statistics.fmean(totals)) < 0.2
    # The noise does not decide motion: the detector looks at the clean signal, as a real
    # indicator looks at its filtered value.
    assert model.state.settled


def test_the_same_seed_gives_the_same_samples() -> None:
    def scenario(seed: int) -> list[float]:
        model = BasketModel(BasketParams(spike_rate_hz=2.0), seed=seed)
        out = [s.total_g for s in run(model, 0.5)]
        model.put(750.0, POSITIONS["rear-left"])
        model.set_pushing(True, 1.0)
        out += [s.total_g for s in run(model, 1.5)]
        model.lean(300.0, 1.0)
        out += [s.total_g for s in run(model, 1.5)]
        return out

    assert scenario(42) == scenario(42)
    assert scenario(42) != scenario(43)


def test_a_lean_rises_then_returns_to_the_baseline() -> None:
    params = BasketParams(noise_g=0.3, spike_rate_hz=0.0, drift_g=0.0)
    model = BasketModel(params, seed=3)
    model.put(1000.0)
    run(model, 2.0)
    model.lean(400.0, 1.5)
    during = run(model, 1.5)
    assert max(s.total_g for s in during) > 1300.0
    assert not all(s.settled for s in during)
    assert max(s.load_g for s in during) > 1300.0
    assert all(s.items_g == pytest.approx(1000.0) for s in during)
    after = run(model, 1.5)
    assert after[-1].settled
    assert after[-1].total_g == pytest.approx(1000.0, abs=2.0)
    assert after[-1].load_g == pytest.approx(1000.0)


def test_a_lean_loads_the_rear_cells() -> None:
    model = BasketModel(QUIET, seed=3)
    model.lean(400.0, 2.0)
    mid = run(model, 1.0)[-1]
    front = mid.cells_g[0] + mid.cells_g[1]
    rear = mid.cells_g[2] + mid.cells_g[3]
    assert rear > 300.0 and abs(front) < 10.0


def test_pushing_shakes_the_basket_then_stops() -> None:
    params = BasketParams(noise_g=0.3, spike_rate_hz=0.0, drift_g=0.0)
    model = BasketModel(params, seed=5)
    model.put(800.0)
    run(model, 2.0)
    model.set_pushing(True, duration_s=2.0)
    assert model.pushing
    pushed = run(model, 2.0)
    totals = [s.total_g for s in pushed]
    assert max(totals) - min(totals) >= 20.0
    assert sum(not s.settled for s in pushed) > len(pushed) * 0.8
    after = run(model, 2.0)
    assert not model.pushing
    assert after[-1].settled
    assert after[-1].total_g == pytest.approx(800.0, abs=2.0)


def test_push_on_lasts_until_switched_off() -> None:
    model = BasketModel(QUIET, seed=5)
    model.set_pushing(True)
    run(model, 3.0)
    assert model.pushing and not model.state.settled
    model.set_pushing(False)
    run(model, 2.0)
    assert model.state.settled


def test_spikes_are_single_samples() -> None:
    params = BasketParams(noise_g=0.0, drift_g=0.0, spike_rate_hz=5.0, spike_g=150.0)
    model = BasketModel(params, seed=11)
    model.put(500.0)
    run(model, 2.0)
    states = run(model, 10.0)
    off = [i for i, s in enumerate(states) if abs(s.total_g - 500.0) > 50.0]
    assert len(off) >= 20
    # Neighbours of a spike are back on the weight (spikes at 5 Hz rarely come in pairs).
    isolated = [i for i in off if i + 1 < len(states) and i + 1 not in off]
    assert len(isolated) >= 0.9 * len(off)
    assert all(abs(states[i + 1].total_g - 500.0) < 1.0 for i in isolated)
    # Spikes are electrical: the motion detector does not see them.
    assert all(states[i].settled for i in off)


def test_drift_creeps_towards_its_final_value() -> None:
    params = BasketParams(noise_g=0.0, spike_rate_hz=0.0, drift_g=10.0, drift_tau_s=10.0)
    model = BasketModel(params, seed=2)
    early = run(model, 1.0)[-1].total_g
    late = run(model, 59.0, rate_hz=20.0)[-1].total_g
    assert 0.5 < early < 1.5  # 10 * (1 - e^-0.1)
    assert late == pytest.approx(10.0, abs=0.05)
    assert model.state.settled


def test_positions_share_the_load_between_cells() -> None:
    model = BasketModel(QUIET, seed=1)
    model.put(1000.0, POSITIONS["front-left"])
    state = run(model, 2.0)[-1]
    assert max(range(4), key=lambda i: state.cells_g[i]) == 0
    assert sum(state.cells_g) == pytest.approx(state.total_g)
    assert state.cells_g[0] == pytest.approx(1000.0 * 0.85 * 0.85, abs=0.1)
    model.remove(1)
    model.put(1000.0, CENTRE)
    state = run(model, 2.0)[-1]
    assert state.cells_g == pytest.approx((250.0,) * 4, abs=0.1)


def test_overload_beyond_capacity() -> None:
    model = BasketModel(BasketParams(capacity_g=30_000.0), seed=1)
    model.put(29_000.0)
    assert not run(model, 2.0)[-1].overloaded
    model.put(2_000.0)
    assert run(model, 2.0)[-1].overloaded
    model.take(2_000.0)
    assert not run(model, 2.0)[-1].overloaded


def test_items_take_the_latest_of_a_weight_and_ids_are_never_reused() -> None:
    items = Items()
    first = items.put(250.0)
    second = items.put(250.0, POSITIONS["rear"])
    assert (first.item_id, second.item_id) == (1, 2)
    assert items.take(250.0) == second
    third = items.put(100.0)
    assert third.item_id == 3
    assert items.remove(1) == first
    assert items.total_g == pytest.approx(100.0)
    with pytest.raises(ValueError, match="no item of 250 g"):
        items.take(250.0)
    with pytest.raises(ValueError, match="no item 7"):
        items.remove(7)
    with pytest.raises(ValueError):
        items.put(0.0)
    with pytest.raises(ValueError):
        items.put(math.nan)


def test_the_model_refuses_bad_input() -> None:
    model = BasketModel(seed=1)
    model.step(1.0)
    with pytest.raises(ValueError, match="time must move forward"):
        model.step(0.5)
    with pytest.raises(ValueError):
        model.lean(-5.0)
    with pytest.raises(ValueError):
        model.lean(100.0, 0.0)
    with pytest.raises(ValueError):
        model.set_pushing(True, -1.0)
    with pytest.raises(ValueError, match="noise_g"):
        BasketParams(noise_g=-1.0)
    with pytest.raises(ValueError, match="overshoot"):
        BasketParams(overshoot=0.9)
    with pytest.raises(ValueError, match="settle_s"):
        BasketParams(settle_s=math.inf)


def test_damping_follows_from_settle_time_and_overshoot() -> None:
    params = BasketParams(settle_s=0.2, overshoot=0.05)
    assert params.damping_ratio == pytest.approx(0.69, abs=0.01)
    assert params.natural_rad_s == pytest.approx(4.0 / (params.damping_ratio * 0.2))


def test_parse_position() -> None:
    assert parse_position("Front-Left") == POSITIONS["front-left"]
    assert parse_position("center") == CENTRE
    assert parse_position("0.2,0.9") == Position(0.2, 0.9)
    for bad in ("middle", "2,0.5", "nan,0.5", "0.5"):
        with pytest.raises(ValueError):
            parse_position(bad)
    assert sum(Position(0.3, 0.7).shares()) == pytest.approx(1.0)
