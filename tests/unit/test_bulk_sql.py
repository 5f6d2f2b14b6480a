"""IntArray: a list of integers adapted by psycopg2 as one array literal (no connection needed)."""

import pytest
from psycopg2.extensions import adapt

from tools.bulk_sql import IntArray


def quoted(values):
    return adapt(IntArray(values)).getquoted().decode()


def test_integers_and_nulls_in_one_literal():
    assert quoted([3, None, 10**12]) == "'{3,NULL,1000000000000}'::int[]"
    assert quoted([]) == "'{}'::int[]"
    assert quoted(range(3)) == "'{0,1,2}'::int[]"


@pytest.mark.parametrize("value", ["1}'; DROP TABLE sms_sms; --", "x", 1.5j])
def test_anything_but_an_integer_is_refused(value):
    with pytest.raises((ValueError, TypeError)):
        quoted([1, value])
