"""Unit tests of the verbose-output parser, on output shaped as CPython 3.11's regrtest prints it.

    python3 -m unittest discover -s peer -p 'test_*.py'
"""

import unittest

from outcomes import ERROR, FAIL, OK, SKIPPED, UNPARSED, XFAIL, exception_lines, parse

SAMPLE = """\
0:00:00 load avg: 0.80 [1/1] test_pty
test_fork (test.test_pty.PtyTest.test_fork) ... calling pty.fork()
Waiting for child (8307) to finish.
ok
test_plain (test.test_pty.PtyTest.test_plain) ... ok
test__copy_to_each (test.test_pty.SmallPtyTests.test__copy_to_each)
Test the normal data case on both master_fd and stdin. ... ok
test_skip (test.test_os.Win.test_skip) ... skipped 'Win32 specific tests'
test_noise (test.test_os.A.test_noise) ... {"ts":"x","event":"inject"}
FAIL
test_sub (test.test_os.A.test_sub) ... \n\
  test_sub (test.test_os.A.test_sub) [b'x'] ... FAIL
  test_sub (test.test_os.A.test_sub) (n=2) ... ERROR
test_subskip (test.test_os.A.test_subskip) ... \n\
  test_subskip (test.test_os.A.test_subskip) (n=1) ... skipped 'no'
test_subskip (test.test_os.A.test_subskip) ... ok
test_xfail (test.test_os.A.test_xfail) ... expected failure
test_lost (test.test_os.A.test_lost) ... some output
setUpClass (test.test_os.B) ... ERROR
test_tail (test.test_os.A.test_tail) ... partial lineskipped 'why'

======================================================================
FAIL: test_noise (test.test_os.A.test_noise)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/x/test_os.py", line 10, in test_noise
    self.assertEqual(err, b'')
AssertionError: b'{"ts":"x"}\\n' != b''

======================================================================
ERROR: test__copy_to_each (test.test_pty.SmallPtyTests.test__copy_to_each)
Test the normal data case on both master_fd and stdin.
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/x/test_pty.py", line 3, in f
    g()
OSError: boom

----------------------------------------------------------------------
Ran 12 tests in 0.1s

FAILED (failures=2, errors=2, skipped=2)
test_os failed (2 failures)

== Tests result: FAILURE ==
"""


class ParseTests(unittest.TestCase):
    def setUp(self):
        self.p = parse(SAMPLE)
        self.o = self.p.outcomes

    def test_plain_status_on_the_header_line(self):
        self.assertEqual(self.o["test.test_pty.PtyTest.test_plain"], OK)

    def test_status_after_the_tests_own_output(self):
        self.assertEqual(self.o["test.test_pty.PtyTest.test_fork"], OK)
        self.assertEqual(self.o["test.test_os.A.test_noise"], FAIL)

    def test_docstring_line_between_description_and_status(self):
        self.assertEqual(self.o["test.test_pty.SmallPtyTests.test__copy_to_each"], OK)
        self.assertNotIn("Test the normal data case on both master_fd and stdin.", str(self.o))

    def test_skip_reason_is_dropped(self):
        self.assertEqual(self.o["test.test_os.Win.test_skip"], SKIPPED)

    def test_failed_subtests_make_the_parent_the_worst_of_them(self):
        self.assertEqual(self.o["test.test_os.A.test_sub"], ERROR)

    def test_skipped_subtest_then_parent_ok(self):
        self.assertEqual(self.o["test.test_os.A.test_subskip"], SKIPPED)

    def test_expected_failure(self):
        self.assertEqual(self.o["test.test_os.A.test_xfail"], XFAIL)

    def test_no_status_is_unparsed(self):
        self.assertEqual(self.o["test.test_os.A.test_lost"], UNPARSED)

    def test_class_setup_error(self):
        self.assertEqual(self.o["test.test_os.B.setUpClass"], ERROR)

    def test_long_status_after_output_without_newline(self):
        self.assertEqual(self.o["test.test_os.A.test_tail"], SKIPPED)

    def test_failure_texts_by_id(self):
        self.assertIn("AssertionError", self.p.failures["test.test_os.A.test_noise"])
        self.assertIn("OSError: boom", self.p.failures["test.test_pty.SmallPtyTests.test__copy_to_each"])
        self.assertEqual(
            exception_lines(self.p.failures["test.test_os.A.test_noise"]),
            ["AssertionError: b'{\"ts\":\"x\"}\\n' != b''"],
        )

    def test_regrtest_result(self):
        self.assertEqual(self.p.result, "FAILURE")

    def test_nothing_else_is_a_test(self):
        self.assertEqual(len(self.o), 11, sorted(self.o))


if __name__ == "__main__":
    unittest.main()
