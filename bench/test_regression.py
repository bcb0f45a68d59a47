"""Unit tests of the regression check (python3 -m unittest discover -s bench -p 'test_*.py')."""

import unittest

from report import compare_rows


class CompareRows(unittest.TestCase):
    def verdicts(self, now, base):
        return {key: ok for key, _was, _now, _change, ok in compare_rows(now, base)}

    def test_ten_percent_worse_passes_and_more_fails(self):
        v = self.verdicts({"a | x": 1100, "b | y": 1101}, {"a | x": 1000, "b | y": 1000})
        self.assertEqual(v, {"a | x": True, "b | y": False})

    def test_better_passes(self):
        self.assertTrue(self.verdicts({"a | x": 10}, {"a | x": 1000})["a | x"])

    def test_new_and_gone_rows_are_information(self):
        rows = compare_rows({"new | x": 5}, {"old | y": 7})
        self.assertEqual([(k, ok) for k, _w, _n, _c, ok in rows], [("new | x", None), ("old | y", None)])

    def test_a_zero_baseline_fails_on_any_cost(self):
        self.assertFalse(self.verdicts({"a | x": 1}, {"a | x": 0})["a | x"])

    def test_change_is_printed_as_a_percentage(self):
        self.assertEqual(compare_rows({"a | x": 1150}, {"a | x": 1000})[0][3], "+15.0%")


if __name__ == "__main__":
    unittest.main()
