"""Published scores come from whole source tables: nothing is picked, every number is kept."""

import datetime as dt

from openvsclosed.report.published import freeze_date, load_reported


def test_every_number_is_kept_per_model_task_and_table():
    reported = load_reported()
    if reported.empty:
        return
    # no picking: a model may carry several numbers on one task (tables, settings)
    assert not reported.duplicated(["model", "task", "table", "row_label"]).any()
    assert reported["series"].str.contains(" · ").all()
    assert reported["protocol"].equals(reported["series"])
    assert set(reported["ran_by"]) <= {"maker", "other_maker", "independent"}
    assert reported["score"].between(0, 1).all()


def test_the_freeze_date_comes_from_the_data_not_the_code():
    import openvsclosed.report.published as published

    assert isinstance(freeze_date(), dt.date)
    assert not hasattr(published, "PUBLISHED_AS_OF")  # no date constant in the code


def test_unstated_shots_stay_unknown_never_zero():
    reported = load_reported()
    if reported.empty:
        return
    unknown = reported[reported["num_fewshot"].isna()]
    assert unknown.empty or unknown["series"].str.contains(r"\?-shot").all()
