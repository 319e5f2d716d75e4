from client_svc.domain.duplicates import score


def test_more_shared_evidence_means_a_higher_score() -> None:
    assert score({"same_name"}) < score({"same_phone"}) < score({"same_email"})
    assert score({"same_email", "same_name"}) > score({"same_email"})
    assert 0 < score({"same_email", "same_phone", "same_name"}) < 1
