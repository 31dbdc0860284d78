"""Shared test helpers: float64 NumPy reference cells (independent of skipjax's code).

Tests never write outside the checkout: prepared tfds data and word vectors go to
<repo>/.cache unless $SKIPJAX_TFDS_DIR / $SKIPJAX_VECTORS_DIR say otherwise (a user's
$TFDS_DATA_DIR is not used by the tests)."""

import os
import pathlib

import numpy as np

_REPO = pathlib.Path(__file__).resolve().parent.parent
os.environ.setdefault("SKIPJAX_TFDS_DIR", str(_REPO / ".cache" / "tfds"))
os.environ.setdefault("SKIPJAX_VECTORS_DIR", str(_REPO / ".cache" / "vectors"))
# The tests compile far more than they compute: XLA's cheapest compilation (no LLVM
# optimisation, fewer HLO passes) runs the default suite about 1.6x faster. Set before jax is
# imported; subprocesses inherit it. Timings measured under it are not benchmarks.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")


# The slow end-to-end tests (subprocess runs of the experiments, the queue, multi-device and
# multi-process training, real-data preparation): marked `slow`, left out of `make test` and run
# by `make test-slow` (CI runs both). Listed by test function (all its parameters), with the
# seconds measured on one core at one thread (`pytest --durations=0`, 2026-12-03): those of 3 s
# or more. The model, cell and estimator tests all stay in `make test`.
SLOW_TESTS = frozenset([
    "tests/test_bench.py::test_lstm_quick_run_writes_json",  # 12 s
    "tests/test_config.py::test_a_config_argument_reaches_the_runner",  # 21 s
    "tests/test_config.py::test_run_end_to_end_writes_everything",  # 6 s
    "tests/test_data_arrays.py::test_exported_dataset_loads_without_tensorflow_as_the_tfds_path_does",  # 25 s
    "tests/test_data_datasets.py::test_command_line_errors_are_one_fatal_line",  # 15 s
    "tests/test_data_files.py::test_prepared_dataset_rechecks_its_raw_files",  # 7 s
    "tests/test_data_imdb.py::test_imdb_counts_ratings_and_crop",  # 17 s
    "tests/test_data_mnist.py::test_mnist_sequential_pixels_counts",  # 24 s
    "tests/test_data_real_text.py::test_preparing_from_local_files_logs_one_plain_line",  # 10 s
    "tests/test_data_real_text.py::test_sst2_glue_counts",  # 3 s
    "tests/test_data_vectors.py::test_train_word2vec_is_identical_across_hash_seeds",  # 4 s
    "tests/test_demo.py::test_demo_runs_and_reports",  # 12 s
    "tests/test_experiments_conll2003.py::test_eval_f1_over_batches_equals_conlleval",  # 7 s
    "tests/test_experiments_conll2003.py::test_two_step_run_reports_test_f1",  # 25 s
    "tests/test_experiments_dynamic_skip.py::test_config_trains_and_evaluates",  # 55 s
    "tests/test_experiments_dynamic_skip.py::test_eval_is_greedy_and_train_samples",  # 15 s
    "tests/test_experiments_lstm_jump.py::test_number_prediction_config_trains_and_evaluates_greedily",  # 15 s
    "tests/test_experiments_lstm_jump.py::test_rotten_tomatoes_config_with_test_time_read_size",  # 19 s
    "tests/test_experiments_mesh.py::test_bad_mesh_is_one_fatal_line",  # 10 s
    "tests/test_experiments_mesh.py::test_eight_devices_end_equal_to_one_also_after_resume",  # 95 s
    "tests/test_experiments_mesh.py::test_sweep_on_eight_devices_equals_one_also_after_resume",  # 85 s
    "tests/test_experiments_multiprocess.py::test_a_failure_on_process_0_stops_both",  # 15 s
    "tests/test_experiments_multiprocess.py::test_a_sweep_over_two_processes_is_refused_by_both",  # 12 s
    "tests/test_experiments_multiprocess.py::test_only_process_0_writes",  # 120 s: its fixture trains
    "tests/test_experiments_multiprocess.py::test_the_kill_came_in_the_middle_and_the_rerun_resumed",
    "tests/test_experiments_multiprocess.py::test_two_processes_or_eight_devices_end_equal_to_one_device",
    "tests/test_experiments_predict.py::test_cli_prints_one_json_line_per_text",  # 8 s
    "tests/test_experiments_predict.py::test_predict_fn_agrees_with_the_evaluation_loss",  # 41 s
    "tests/test_experiments_predict.py::test_predictions_on_raw_test_text_reproduce_the_test_accuracy",  # 5 s
    "tests/test_experiments_predict.py::test_resume_with_another_vocabulary_is_refused",  # 10 s: its fixture trains
    "tests/test_experiments_predict.py::test_workdir_keeps_spec_and_vocabulary",  # 10 s
    "tests/test_experiments_pretrained.py::test_errors_name_the_config_field",  # 5 s
    "tests/test_experiments_pretrained.py::test_every_family_initialises_its_embedding",  # 50 s
    "tests/test_experiments_pretrained.py::test_freeze_embedding_stops_its_gradient_only",  # 24 s
    "tests/test_experiments_ptb.py::test_language_model_builds",  # 4 s
    "tests/test_experiments_ptb.py::test_smoke_run_trains_evaluates_and_resumes",  # 35 s
    "tests/test_experiments_run.py::test_a_broken_config_file_is_one_line_naming_the_line",  # 8 s
    "tests/test_experiments_run.py::test_a_config_path_typo_is_one_line_with_the_closest_config",  # 5 s
    "tests/test_experiments_run.py::test_a_run_writes_only_into_its_workdir_and_publishing_never_replaces",  # 14 s
    "tests/test_experiments_run.py::test_bad_flags_and_values_are_one_line_without_the_help_text",  # 13 s
    "tests/test_experiments_run.py::test_help_exits_0_with_an_unbroken_usage_line",  # 7 s
    "tests/test_experiments_run.py::test_non_finite_loss_stops_with_the_step_and_no_result",  # 10 s
    "tests/test_experiments_run.py::test_resume_rules_and_restart",  # 17 s
    "tests/test_experiments_run.py::test_resume_with_another_config_is_refused_and_touches_nothing",  # 9 s
    "tests/test_experiments_run.py::test_resuming_and_rerunning_say_what_happens",  # 13 s
    "tests/test_experiments_run.py::test_second_run_on_a_locked_workdir_fails_at_once_and_a_stale_lock_is_taken_over",  # 26 s
    "tests/test_experiments_run.py::test_sigterm_stops_at_the_step_in_flight_with_a_checkpoint",  # 10 s
    "tests/test_experiments_run.py::test_soak_killed_at_five_random_moments_equals_uninterrupted",  # 71 s
    "tests/test_experiments_run.py::test_stop_after_checkpoints_exits_8_and_the_same_command_finishes_as_unstopped",  # 23 s
    "tests/test_experiments_skim_rnn.py::test_eval_loss_ignores_dropout",  # 3 s
    "tests/test_experiments_skim_rnn.py::test_one_train_and_eval_step",  # 34 s
    "tests/test_experiments_skip_rnn.py::test_config_builds_and_takes_a_train_and_an_eval_step",  # 13 s
    "tests/test_experiments_skip_rnn.py::test_random_skip_with_update_prob_one_is_the_plain_lstm",  # 4 s
    "tests/test_experiments_speedup.py::test_bad_arguments_are_named",  # 26 s: its module fixture trains two runs
    "tests/test_experiments_speedup.py::test_jump_reader_timed_on_variable_lengths_agrees_with_the_eval",  # 11 s
    "tests/test_experiments_speedup.py::test_jump_tradeoff_end_to_end",  # 42 s
    "tests/test_experiments_speedup.py::test_skim_cond_timed_on_variable_lengths_agrees_with_masked",  # 8 s
    "tests/test_experiments_speedup.py::test_skim_tradeoff_times_the_eval_threshold",  # 12 s
    "tests/test_experiments_sweep.py::test_a_diverging_setting_stops_alone_through_the_cli",  # 18 s
    "tests/test_experiments_sweep.py::test_each_record_is_its_single_runs",  # 39 s
    "tests/test_experiments_sweep.py::test_rerun_is_finished_and_another_study_is_refused",  # 23 s (its fixture)
    "tests/test_gpu_script.py::test_a_spent_budget_starts_nothing_and_exits_8",  # 12 s
    "tests/test_gpu_script.py::test_the_script_runs_the_queue_and_reports_each_row",  # 25 s
    "tests/test_interrupt.py::test_stopped_run_saves_its_step_and_resumes_exactly",  # 8 s
    "tests/test_interrupt.py::test_stopped_sweep_resumes_exactly",  # 14 s
    "tests/test_multiprocess.py::test_two_processes_match_single_process",  # 33 s
    "tests/test_parallel.py::test_batch_really_sharded_and_padding_excluded",  # 21 s: its fixture runs 8 devices
    "tests/test_parallel.py::test_eight_devices_match_one",  # 22 s
    "tests/test_readme.py::test_readme_python_blocks_run",  # 25 s
    "tests/test_reproduce.py::test_a_jump_row_gets_its_measured_speedup_and_a_failed_measurement_is_reported",  # 56 s
    "tests/test_reproduce.py::test_a_platform_jax_cannot_start_is_one_fatal_line",  # 7 s
    "tests/test_reproduce.py::test_a_platform_row_has_its_own_workdir_and_record",  # 25 s
    "tests/test_reproduce.py::test_a_sweep_row_publishes_a_record_per_setting_and_is_then_done",  # 25 s
    "tests/test_reproduce.py::test_command_line_errors_are_one_fatal_line",  # 15 s
    "tests/test_reproduce.py::test_failing_row_is_reported_and_the_rest_go_on_then_finished_rows_are_skipped",  # 20 s
    "tests/test_reproduce.py::test_kill_9_then_rerun_ends_equal_to_an_uninterrupted_queue",  # 40 s
    "tests/test_reproduce.py::test_sigterm_to_the_queue_stops_its_row_cleanly",  # 15 s
    "tests/test_reproduce.py::test_stop_after_stops_the_row_with_a_checkpoint_and_starts_no_other",  # 36 s
    "tests/test_sweep.py::test_settings_looped_in_chunks_match_vmapped",  # 7 s
    "tests/test_sweep.py::test_sweep_matches_each_setting_trained_alone",  # 10 s
    "tests/test_sweep_loop.py::test_killed_sweep_resumes_exactly",  # 12 s
])


def pytest_collection_modifyitems(config, items):
  del config
  import pytest  # pylint: disable=g-import-not-at-top
  modules = {}
  for item in items:
    name = item.nodeid.split("[")[0]
    modules[name.split("::")[0]] = getattr(item, "module", None)
    if name in SLOW_TESTS:
      item.add_marker(pytest.mark.slow)
  # Checked against the modules' functions, not the collected items: selecting some tests of a
  # file (`pytest tests/x.py::test_y`) is no error.
  stale = sorted(n for n in SLOW_TESTS if n.split("::")[0] in modules and
                 modules[n.split("::")[0]] is not None and
                 not hasattr(modules[n.split("::")[0]], n.split("::")[1]))
  if stale:  # a renamed or removed test must leave the list too
    raise pytest.UsageError(f"tests/conftest.py SLOW_TESTS names tests that do not exist: {stale}")


def np_sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def np_lstm_step(w_i, w_h, b, c, h, x):
  """torch.nn.LSTM equations, gate order (i, f, g, o), in float64. Shapes [..., D] / [..., H]."""
  w_i, w_h, b, c, h, x = (np.asarray(a, np.float64) for a in (w_i, w_h, b, c, h, x))
  hidden = w_h.shape[0]
  z = x @ w_i + h @ w_h + b
  i, f = np_sigmoid(z[..., :hidden]), np_sigmoid(z[..., hidden:2 * hidden])
  g, o = np.tanh(z[..., 2 * hidden:3 * hidden]), np_sigmoid(z[..., 3 * hidden:])
  c = f * c + i * g
  return c, o * np.tanh(c)


def np_gru_step(w_i, w_h, b_i, b_h, h, x):
  """torch.nn.GRU equations, gate order (r, z, n), in float64."""
  w_i, w_h, b_i, b_h, h, x = (np.asarray(a, np.float64) for a in (w_i, w_h, b_i, b_h, h, x))
  hidden = w_h.shape[0]
  gx, gh = x @ w_i + b_i, h @ w_h + b_h
  r = np_sigmoid(gx[..., :hidden] + gh[..., :hidden])
  z = np_sigmoid(gx[..., hidden:2 * hidden] + gh[..., hidden:2 * hidden])
  n = np.tanh(gx[..., 2 * hidden:] + r * gh[..., 2 * hidden:])
  return (1.0 - z) * n + z * h


def np_lstm_sequence(p, xs, c, h):
  """Runs np_lstm_step over xs [T, D] (one example); returns (c, h, hs [T, H])."""
  hs = []
  for x in np.asarray(xs):
    c, h = np_lstm_step(p.w_i, p.w_h, p.b, c, h, x)
    hs.append(h)
  return c, h, np.stack(hs) if hs else np.zeros((0, np.shape(h)[-1]))


def np_gru_sequence(p, xs, h):
  hs = []
  for x in np.asarray(xs):
    h = np_gru_step(p.w_i, p.w_h, p.b_i, p.b_h, h, x)
    hs.append(h)
  return h, np.stack(hs) if hs else np.zeros((0, np.shape(h)[-1]))
