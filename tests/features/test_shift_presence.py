"""shift_presence: hand-computed people-hours, peaks and idle cards per 8-hour block, and point-in-time cuts."""

from datetime import date, datetime

import pandas as pd
import pytest

from features.runner import Window, load_checks, render
from tests.features.conftest import build, insert

M = "140000000001"
SHAFT, ROAD, FACE, OLD, SPARE = (M + a for a in ("0001", "0002", "0003", "0004", "0005"))
C1, C2, C3, C4 = (M + c for c in ("00001", "00002", "00003", "00004"))
AS_OF = "2025-03-10"  # with 1 + 1 days: blocks from 2025-03-09 00:00 to 2025-03-11 00:00


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def registry(con, approved_headcount: int = 3) -> None:
    insert(con, "mines", [dict(mine_code=M, mine_name="甲矿", approved_capacity_tpy=9e5,
                               approved_headcount=approved_headcount)])
    insert(con, "areas", [
        dict(mine_code=M, area_code=SHAFT, area_type="井口区域"),
        dict(mine_code=M, area_code=ROAD, area_type="其它区域"),
        dict(mine_code=M, area_code=FACE, area_type="重点区域", approved_headcount=1),
        dict(mine_code=M, area_code=OLD, area_type="限制区域", approved_headcount=5),
        dict(mine_code=M, area_code=SPARE, area_type="重点区域"),
    ])
    insert(con, "workfaces", [
        dict(mine_code=M, face_code="F1", face_type="longwall", area_code=FACE, declared_from=date(2025, 1, 1)),
        # a face whose declaration ended: its area is no longer a declared face
        dict(mine_code=M, face_code="F2", face_type="heading", area_code=SPARE, declared_from=date(2025, 1, 1),
             declared_to=date(2025, 3, 1)),
    ])


def four_cards(con) -> None:
    insert(con, "shaft_trips", [
        dict(mine_code=M, card_code=C1, down_at=ts("2025-03-10 06:00"), up_at=ts("2025-03-10 15:00")),
        dict(mine_code=M, card_code=C2, down_at=ts("2025-03-10 07:00"), up_at=ts("2025-03-10 17:00")),
        dict(mine_code=M, card_code=C3, down_at=ts("2025-03-10 08:00"), up_at=ts("2025-03-10 16:00")),
        dict(mine_code=M, card_code=C4, down_at=ts("2025-03-10 10:00"), up_at=ts("2025-03-10 12:00")),
    ])
    stays = [
        (C1, SHAFT, "06:00", "06:30"), (C1, ROAD, "06:30", "07:00"), (C1, FACE, "07:00", "14:00"),
        (C1, ROAD, "14:00", "15:00"),
        (C2, SHAFT, "07:00", "07:15"), (C2, OLD, "07:15", "09:15"), (C2, SPARE, "09:15", "16:30"),
        (C2, SHAFT, "16:30", "17:00"),
        # a card left at the shaft all shift, seen by two readers of the same area
        (C3, SHAFT, "08:00", "12:00"), (C3, SHAFT, "12:00", "16:00"),
        (C4, FACE, "10:00", "12:00"),
    ]
    insert(con, "presence", [
        dict(mine_code=M, card_code=c, area_code=a, entered_at=ts(f"2025-03-10 {i}"), left_at=ts(f"2025-03-10 {o}"))
        for c, a, i, o in stays
    ])


def rows(con) -> pd.DataFrame:
    return con.execute("select * from shift_presence order by mine_code, shift_start").df().set_index("shift_start")


def test_one_row_per_mine_and_block_with_the_grid_and_window(con):
    registry(con)
    build(con, AS_OF, only={"shift_presence"}, window_days=1, history_days=1)
    out = rows(con)
    assert list(out.index) == list(pd.date_range("2025-03-09 00:00", periods=6, freq="8h"))
    assert (out.shift_end - out.index == pd.Timedelta(hours=8)).all()
    assert list(out.is_in_window) == [False] * 3 + [True] * 3
    assert (out.people_hours_total == 0).all() and (out.peak_underground == 0).all()
    assert out.idle_area_code.isna().all()


def test_people_hours_by_area_type_clipped_to_blocks(con):
    registry(con)
    four_cards(con)
    build(con, AS_OF, only={"shift_presence"}, window_days=1, history_days=1)
    out = rows(con)
    cols = ["n_cards", "people_hours_total", "people_hours_shaft", "people_hours_face", "people_hours_other",
            "people_hours_restricted", "people_hours_key_not_face", "people_hours_undeclared_work"]
    expected = pd.DataFrame(
        [
            # 00-08: C1 shaft 0.5, road 0.5, face 1; C2 shaft 0.25, restricted 0.75 (a 2 h stay: undeclared)
            [2, 3.0, 0.75, 1.0, 0.5, 0.75, 0.0, 0.75],
            # 08-16: C1 face 6 + road 1 (a 1 h stay); C2 restricted 1.25 + lapsed face 6.75; C3 shaft 8; C4 face 2
            [4, 25.0, 8.0, 8.0, 1.0, 1.25, 6.75, 9.0],
            # 16-24: C2 lapsed face 0.5, shaft 0.5
            [1, 1.0, 0.5, 0.0, 0.0, 0.0, 0.5, 0.5],
        ],
        columns=cols,
        index=pd.DatetimeIndex(["2025-03-10 00:00", "2025-03-10 08:00", "2025-03-10 16:00"], name="shift_start"),
    )
    pd.testing.assert_frame_equal(out.loc[expected.index, cols], expected, check_dtype=False)


def test_peak_underground_and_area_limits(con):
    registry(con)
    four_cards(con)
    build(con, AS_OF, only={"shift_presence"}, window_days=1, history_days=1)
    out = rows(con).loc["2025-03-10"]
    # 00-08: C1 and C2; 08-16: C1, C2, C3 from 08:00 and C4 at 10:00; 16-24: C2 only (C3 came up at 16:00)
    assert list(out.peak_underground) == [2, 4, 1]
    assert list(out.is_over_headcount) == [False, True, False]
    assert out.headcount_ratio.iloc[1] == pytest.approx(4 / 3)
    # the face (limit 1) held C1 and C4 at once from 10:00 to 12:00; the restricted area (limit 5) one card
    assert list(out.n_areas_over_limit) == [0, 1, 0]
    assert list(out.max_area_over_ratio) == pytest.approx([1.0, 2.0, 0.0])


def test_idle_card_left_at_the_shaft(con):
    registry(con)
    four_cards(con)
    build(con, AS_OF, only={"shift_presence"}, window_days=1, history_days=1)
    out = rows(con).loc["2025-03-10"]
    # C3 sat at the shaft for its whole 8 h trip; C4 sat at the face only 2 h; the others moved
    assert list(out.n_idle_cards) == [0, 1, 0]
    assert list(out.n_idle_shaft_cards) == [0, 1, 0]
    assert list(out.idle_area_code.fillna("")) == ["", SHAFT, ""]


def test_open_trip_counts_until_the_cut_off_unless_the_card_was_seen_again(con):
    registry(con, approved_headcount=5)
    insert(con, "shaft_trips", [
        # never came up, but went down again the next morning: underground only until then
        dict(mine_code=M, card_code=C1, down_at=ts("2025-03-09 10:00"), up_at=None),
        dict(mine_code=M, card_code=C1, down_at=ts("2025-03-10 09:00"), up_at=ts("2025-03-10 17:00")),
        # still underground at the cut-off
        dict(mine_code=M, card_code=C2, down_at=ts("2025-03-10 20:00"), up_at=None),
        # came up after the cut-off: open as of 2025-03-10
        dict(mine_code=M, card_code=C3, down_at=ts("2025-03-10 22:00"), up_at=ts("2025-03-11 06:00")),
    ])
    insert(con, "presence", [
        dict(mine_code=M, card_code=C1, area_code=ROAD, entered_at=ts("2025-03-09 10:00"), left_at=None),
        dict(mine_code=M, card_code=C1, area_code=ROAD, entered_at=ts("2025-03-10 09:00"),
             left_at=ts("2025-03-10 17:00")),
        dict(mine_code=M, card_code=C2, area_code=FACE, entered_at=ts("2025-03-10 20:00"), left_at=None),
        dict(mine_code=M, card_code=C3, area_code=FACE, entered_at=ts("2025-03-10 22:00"),
             left_at=ts("2025-03-11 06:00")),
    ])
    build(con, AS_OF, only={"shift_presence"}, window_days=1, history_days=1)
    out = rows(con)
    assert list(out.people_hours_total) == [0.0, 6.0, 8.0, 8.0, 8.0, 1.0 + 4.0 + 2.0]
    # at 09:00 one trip ends as the next begins: one card, never two; C1 is up at 17:00 before C2 and C3 go down
    assert list(out.peak_underground) == [0, 1, 1, 1, 1, 2]
    assert list(out.people_hours_face) == [0, 0, 0, 0, 0, 6.0]
    # both of C1's trips sat in the roadway; C2 and C3 sat at the face for 4 h and 2 h
    assert list(out.n_idle_cards) == [0, 1, 1, 1, 1, 2]
    assert out.idle_area_code.iloc[-1] == ROAD


def test_later_data_does_not_change_the_blocks_as_of_a_date(con):
    registry(con)
    four_cards(con)
    build(con, AS_OF, only={"shift_presence"}, window_days=1, history_days=1)
    before = rows(con)
    insert(con, "shaft_trips", [
        dict(mine_code=M, card_code=C4, down_at=ts("2025-03-11 00:10"), up_at=ts("2025-03-11 08:00")),
    ])
    insert(con, "presence", [
        dict(mine_code=M, card_code=C4, area_code=FACE, entered_at=ts("2025-03-11 00:10"),
             left_at=ts("2025-03-11 08:00")),
    ])
    build(con, AS_OF, only={"shift_presence"}, window_days=1, history_days=1)
    pd.testing.assert_frame_equal(rows(con), before)


def checks(con, window: Window) -> dict[str, pd.DataFrame]:
    return {c.name: con.execute(render(c.sql, window)).df() for c in load_checks() if c.name.startswith("presence_")}


def test_checks_pass_on_built_rows_and_fire_on_bad_ones(con):
    registry(con)
    four_cards(con)
    window = build(con, AS_OF, only={"shift_presence"}, window_days=1, history_days=1)
    found = checks(con, window)
    assert found and all(frame.empty for frame in found.values()), found
    con.execute("update shift_presence set people_hours_shaft = people_hours_shaft + 1 "
                "where shift_start = timestamp '2025-03-10 08:00'")
    con.execute("update shift_presence set shift_end = shift_end + interval 1 hour "
                "where shift_start = timestamp '2025-03-09 00:00'")
    con.execute("insert into shift_presence select * from shift_presence where shift_start = timestamp '2025-03-09 08:00'")
    found = checks(con, window)
    assert len(found["presence_hours_add_up"]) == 1
    assert len(found["presence_block_grid"]) == 2
