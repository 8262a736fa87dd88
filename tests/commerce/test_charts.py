"""The one polyline helper behind the engagement and campaign charts."""

from __future__ import annotations

from commerce.charts import polyline


def test_a_series_spreads_over_the_width_and_its_peak_touches_the_top():
    assert polyline([0, 5, 10], width=100, height=50) == "0.0,50.0 50.0,25.0 100.0,0.0"


def test_a_shared_peak_keeps_several_lines_on_one_scale():
    assert polyline([1, 2], peak=4, width=10, height=40) == "0.0,30.0 10.0,20.0"


def test_fewer_than_two_points_is_no_line_and_all_zero_stays_on_the_floor():
    assert polyline([]) == "" and polyline([3]) == ""
    assert polyline([0, 0], width=10, height=20) == "0.0,20.0 10.0,20.0"
