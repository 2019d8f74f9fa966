"""WriterOptions: defaults for a 0.2.x config, bounds, and clear errors."""

import pytest

from destination_convex.errors import ConfigurationError
from destination_convex.options import MIB, WriterOptions

OLD_CONFIG = {"deployment_url": "https://murky-swan-635.convex.cloud", "access_key": "prod:murky-swan-635|" + "ab" * 24}


def test_a_02x_config_gets_defaults() -> None:
    options = WriterOptions.from_config(OLD_CONFIG)
    assert options == WriterOptions()
    assert options.max_batch_bytes == 4 * MIB
    assert options.store_airbyte_metadata is False


def test_values_are_read() -> None:
    options = WriterOptions.from_config(
        {
            **OLD_CONFIG,
            "max_batch_size_mib": 0.5,
            "flush_interval_seconds": 3,
            "max_parallel_requests": 2,
            "index_ready_timeout_seconds": 10,
            "store_airbyte_metadata": True,
        }
    )
    assert options.max_batch_bytes == MIB // 2
    assert options.flush_interval_s == 3
    assert options.max_parallel_requests == 2
    assert options.index_ready_timeout_s == 10
    assert options.store_airbyte_metadata is True


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("max_batch_size_mib", 30, "between"),
        ("max_batch_size_mib", "4", "must be a number"),
        ("max_batch_size_mib", True, "must be a number"),
        ("max_parallel_requests", 2.5, "whole number"),
        ("max_parallel_requests", 0, "between"),
        ("store_airbyte_metadata", "yes", "true or false"),
    ],
)
def test_bad_values_name_the_field(field: str, value: object, words: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        WriterOptions.from_config({**OLD_CONFIG, field: value})
    assert field in str(caught.value) and words in str(caught.value)
    assert caught.value.failure_type == "config_error"


def test_memory_bounds_follow_the_batch_size() -> None:
    options = WriterOptions(max_batch_bytes=4 * MIB, max_parallel_requests=4)
    assert options.max_in_flight_bytes == 5 * 4 * MIB
    assert options.max_buffered_bytes == 8 * MIB


def test_write_rate_defaults_to_half_the_deployment_limit_and_zero_turns_it_off() -> None:
    from destination_convex.options import MIB, WriterOptions

    assert WriterOptions.from_config({}).write_rate_bytes_per_s == 2 * MIB
    assert WriterOptions.from_config({"max_write_rate_mib_per_second": 0}).write_rate_bytes_per_s == 0
    assert WriterOptions.from_config({"max_write_rate_mib_per_second": 3.5}).write_rate_bytes_per_s == 3.5 * MIB
