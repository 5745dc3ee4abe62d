"""A hand's side from the left/right classifier's leaky vote beside the fit residuals (inference.runtime.hands)."""

from __future__ import annotations

import numpy as np

from inference.runtime.hands import LEFT, RIGHT, HandednessSettings, HandTracks

SETTINGS = HandednessSettings()


def _track():
    tracks = HandTracks(SETTINGS)
    (track,) = tracks.match([np.array([0.0, 0.0, 600.0])], 0.0)
    return track


def test_a_sure_classifier_holds_the_side_at_once_so_one_hypothesis_runs() -> None:
    track = _track()
    assert track.hypotheses() == (RIGHT, LEFT)
    track.add_classifier(-5.0, 3.0, SETTINGS)  # clipped to -4: 8 mm of evidence, beyond decide_mm
    assert track.held == LEFT and track.hypotheses() == (LEFT,)


def test_an_unsure_classifier_leaves_the_side_open_and_the_votes_add_up() -> None:
    track = _track()
    track.add_classifier(1.0, 3.0, SETTINGS)
    assert track.held is None and track.hypotheses() == (RIGHT, LEFT) and track.leaning == RIGHT
    track.add_classifier(1.0, 3.0, SETTINGS)
    track.add_classifier(1.5, 3.0, SETTINGS)  # 0.7 * (0.7 * 1 + 1) + 1.5 = 2.69 logits = 5.4 mm: still open
    assert track.held is None
    track.add_classifier(1.5, 3.0, SETTINGS)
    assert track.held == RIGHT


def test_a_held_side_turns_over_after_several_frames_against_it_not_after_one() -> None:
    track = _track()
    for _ in range(10):
        track.add_classifier(4.0, 3.0, SETTINGS)
    assert track.held == RIGHT
    track.add_classifier(-4.0, 3.0, SETTINGS)
    assert track.held == RIGHT  # one frame against a steady vote: held
    track.add_classifier(-4.0, 3.0, SETTINGS)
    track.add_classifier(-4.0, 3.0, SETTINGS)
    track.add_classifier(-4.0, 3.0, SETTINGS)
    assert track.held == LEFT and track.refiners.keys() <= {LEFT}


def test_fit_evidence_and_classifier_vote_are_one_sum() -> None:
    track = _track()
    track.add_evidence({RIGHT: 1.0, LEFT: 4.0}, SETTINGS)  # 3 mm for right (a good right fit)
    assert track.held is None
    track.add_classifier(1.6, 3.0, SETTINGS)  # + 3.2 mm: together beyond decide_mm
    assert track.held == RIGHT


def test_without_the_classifier_the_fits_decide_as_before() -> None:
    track = _track()
    for _ in range(2):
        track.add_evidence({RIGHT: 1.0, LEFT: 4.5}, SETTINGS)
    assert track.held == RIGHT and track.vote == 0.0


def test_a_good_fit_of_a_hand_alone_outweighs_a_doubtful_classifier_reading() -> None:
    """Alone in view, one frame's good fits (2.5 mm apart, counted twice) outweigh a classifier reading of -2 (4 mm);
    beside another hand the same frame counts once and the reading wins."""
    alone, beside = _track(), _track()
    for track, is_alone in ((alone, True), (beside, False)):
        track.add_classifier(-2.0, 15.0, SETTINGS)
        track.add_evidence({RIGHT: 1.0, LEFT: 3.5}, SETTINGS, alone=is_alone)
    assert alone.side_mm == 5.0 - 4.0 and alone.leaning == RIGHT
    assert beside.side_mm == 2.5 - 4.0 and beside.leaning == LEFT


def test_fair_fits_tell_the_side_of_a_hand_alone_only() -> None:
    """Fits within alone_fair_fit_mm (but not good_fit_mm) count at half the weight for a hand alone; beside another
    hand (half hidden by it, often) they count nothing, and neither do poorer ones."""
    alone, beside, poor = _track(), _track(), _track()
    alone.add_evidence({RIGHT: 3.0, LEFT: 5.0}, SETTINGS, alone=True)
    beside.add_evidence({RIGHT: 3.0, LEFT: 5.0}, SETTINGS, alone=False)
    poor.add_evidence({RIGHT: 5.5, LEFT: 9.0}, SETTINGS, alone=True)
    assert alone.evidence_mm == 0.5 * SETTINGS.alone_fit_weight * 2.0
    assert beside.evidence_mm == 0.0 and poor.evidence_mm == 0.0


def test_a_sure_hand_vote_confirms_a_candidate_no_fit_came_close_to() -> None:
    settings = HandednessSettings(hand_vote_mm=10.0)
    track = _track()
    track.add_classifier(0.0, 4.0, settings)  # 8 mm
    track.confirm({RIGHT: 9.0, LEFT: 9.0}, settings)
    assert not track.confirmed
    track.add_classifier(0.0, 4.0, settings)  # 0.7 * 4 + 4 = 6.8 logits = 13.6 mm
    track.confirm({RIGHT: 9.0, LEFT: 9.0}, settings)
    assert track.confirmed


def test_a_close_fit_confirms_a_candidate_unless_the_classifier_reads_it_as_no_hand() -> None:
    """With the hand's size searched, blobs that are no hand fit within confirm_mm too (a one-hand sequence reported
    one, reading -2 to -1, as a left hand on 60 frames); without a reading the fit alone decides."""
    doubted, read, unread = _track(), _track(), _track()
    doubted.add_classifier(0.0, -1.5, SETTINGS)
    read.add_classifier(0.0, 3.0, SETTINGS)
    assert [t.doubted(SETTINGS) for t in (doubted, read, unread)] == [True, False, False]  # (not fitted)
    for track in (doubted, read, unread):
        track.confirm({LEFT: 4.5}, SETTINGS)
    assert not doubted.confirmed and read.confirmed and unread.confirmed
    doubted.add_classifier(0.0, 0.5, SETTINGS)  # read as a hand later: the next close fit confirms it
    doubted.confirm({LEFT: 4.5}, SETTINGS)
    assert doubted.confirmed


def test_readings_sure_several_frames_in_a_row_confirm_a_candidate_a_fair_fit_came_to() -> None:
    """The leaky vote is clipped per frame (it reaches hand_vote_mm on the sixth sure frame); sure_frames readings
    at or above sure_logit in a row confirm a candidate with a fit within vote_fit_mm (here the third frame)."""
    track = _track()
    for frame in range(3):
        assert not track.confirmed, frame
        track.add_classifier(0.0, 14.0, SETTINGS)
        track.confirm({RIGHT: 8.0}, SETTINGS)
    assert track.confirmed and SETTINGS.mm_per_logit * track.hand_vote < SETTINGS.hand_vote_mm


def test_readings_at_the_level_of_clutter_or_a_break_in_the_run_do_not_confirm_early() -> None:
    """A head or clutter beside one hand read at most 6.7; and a run broken by a doubtful frame starts again."""
    clutter, broken = _track(), _track()
    for logit in (6.7, 6.7, 6.7):
        clutter.add_classifier(0.0, logit, SETTINGS)
        clutter.confirm({RIGHT: 8.0}, SETTINGS)
    for logit in (14.0, 14.0, 5.0, 14.0):
        broken.add_classifier(0.0, logit, SETTINGS)
        broken.confirm({RIGHT: 8.0}, SETTINGS)
    assert not clutter.confirmed and not broken.confirmed
    for track in (clutter, broken):  # and no sure run without a fair fit
        for _ in range(3):
            track.add_classifier(0.0, 14.0, SETTINGS)
            track.confirm({RIGHT: 12.0}, SETTINGS)
        assert not track.confirmed


def _followed(logit: float = 20.0) -> tuple[HandTracks, np.ndarray]:
    """One hand followed at (0, 0, 600) mm that read ``logit`` as a hand on its frames 0-2 (30 fps)."""
    tracks = HandTracks(SETTINGS)
    centre = np.array([0.0, 0.0, 600.0])
    for k in range(3):
        (track,) = tracks.match([centre], k / 30)
        track.add_classifier(3.0, logit, SETTINGS)
        track.confirmed = True
    return tracks, centre


def _alone(tracks: HandTracks, centre: np.ndarray, timestamp_s: float) -> bool:
    return tracks.alone(centre, timestamp_s, min_logit=12.0, same_mm=80.0, recent_s=1.0)


def test_one_hand_followed_alone_where_it_was_read_surely_as_a_hand() -> None:
    tracks, centre = _followed()
    assert _alone(tracks, centre, 3 / 30)
    assert _alone(tracks, centre + np.array([0.0, 60.0, 0.0]), 3 / 30)  # it moved a little
    assert not _alone(tracks, centre + np.array([0.0, 120.0, 0.0]), 3 / 30)  # the nearest candidate is elsewhere
    unsure, centre = _followed(logit=8.0)
    assert not _alone(unsure, centre, 3 / 30)
    assert not _alone(HandTracks(SETTINGS), centre, 0.0)  # nothing followed yet


def test_a_candidate_being_weighed_or_another_hand_lost_beside_it_is_not_alone() -> None:
    far = np.array([250.0, 0.0, 700.0])
    # Weighed as maybe a hand; reads like clutter (at most 6.7 measured); a confirmed hand that read as none on its
    # last frame (partly hidden behind the first: sequence F frame 170).
    for logit, confirmed, alone in ((8.0, False, False), (4.0, False, True), (-1.0, True, False)):
        tracks, centre = _followed()
        _, other = tracks.match([centre, far], 3 / 30)
        other.add_classifier(0.0, logit, SETTINGS)
        if confirmed:  # confirmed earlier, when it read as a hand
            other.confirmed, other.last_hand_s = True, other.last_seen_s
        assert _alone(tracks, centre, 4 / 30) == alone, logit
    # A second hand confirmed beside it, then hidden (lost): it may come back any frame, for a second.
    tracks, centre = _followed()
    _, other = tracks.match([centre, far], 3 / 30)
    other.add_classifier(0.0, 20.0, SETTINGS)
    other.confirmed = True
    tracks.match([centre], 4 / 30)
    assert not other.present
    assert not _alone(tracks, centre, 5 / 30)
    assert _alone(tracks, centre, 4 / 30 + 1.1)


def test_a_hand_that_jumped_is_no_other_hand_lost_beside_the_one_followed() -> None:
    """Cuts to new scenes: the hand is lost where it was and a track starts (or one lost comes back) where it is now;
    the one lost was never in view beside it."""
    tracks, centre = _followed()
    moved = centre + np.array([300.0, 0.0, 0.0])
    for k in (3, 4):
        (there,) = tracks.match([moved], k / 30)
        there.add_classifier(3.0, 20.0, SETTINGS)
        there.confirmed = True
    assert _alone(tracks, moved, 5 / 30)
    (back,) = tracks.match([centre], 5 / 30)  # the first track, back where it was followed before
    back.add_classifier(3.0, 20.0, SETTINGS)
    assert back.track_id == 0 and not there.present
    assert _alone(tracks, centre, 6 / 30)


def test_a_candidate_whose_blob_lies_over_the_hand_followed_keeps_its_track() -> None:
    """The segmentation's centre jumped to the far end of the arm (200 mm from the palm, beyond ``match_mm``): the
    candidate whose blob lies over the palm reported last frame is that hand, not a new one; one that does not lie
    over it is a new hand, and a track goes to one candidate only (the one matched by distance first)."""
    tracks = HandTracks(SETTINGS)
    (hand,) = tracks.match([np.array([0.0, 0.0, 600.0])], 0.0)
    hand.palm_xyz_mm = np.array([10.0, 0.0, 600.0])
    hand.hold(RIGHT)
    far_end = np.array([0.0, 200.0, 650.0])
    assert np.linalg.norm(far_end - hand.com_xyz_mm) > SETTINGS.match_mm
    seen: list[np.ndarray] = []

    def over_palm(xyz: np.ndarray) -> bool:
        seen.append(xyz)
        return bool(np.allclose(xyz, hand.palm_xyz_mm))

    (same,) = tracks.match([far_end], 1 / 30, [over_palm])
    assert same is hand and same.held == RIGHT and same.continued
    assert np.allclose(seen[-1], [10.0, 0.0, 600.0])  # asked about the palm, not the segmentation's centre
    (other,) = tracks.match([far_end + np.array([0.0, 400.0, 0.0])], 2 / 30, [lambda xyz: False])
    assert other is not hand and not hand.present
    tracks = HandTracks(SETTINGS)
    (hand,) = tracks.match([np.array([0.0, 0.0, 600.0])], 0.0)
    near, far = tracks.match([np.array([5.0, 0.0, 600.0]), far_end], 1 / 30, [lambda xyz: True, lambda xyz: True])
    assert near is hand and far is not hand


def test_a_scene_cut_restarts_the_fits_filters_and_confirmations_but_keeps_the_hands_and_their_sides() -> None:
    """At a scene cut the hand's size and pose must be fitted afresh (another person), and what lies where a hand was
    must be confirmed as a hand again (on one-hand random frames, kept confirmations reported clutter as a second hand
    whose held side turned the real one over); forgetting the tracks made the second hand wait for its side again for
    up to 10 frames after each cut (two-hand set F: both found 88.0 -> 83.3%)."""
    from inference.fit.model import HandParams

    tracks = HandTracks(SETTINGS)
    (track,) = tracks.match([np.array([0.0, 0.0, 600.0])], 0.0)
    track.hold(RIGHT)
    track.confirmed = True
    refiner = track.refiner(RIGHT)
    refiner.previous, refiner.scale = HandParams(np.eye(3), np.zeros(3)), 1.1
    track.smoother.filter(np.zeros((14, 3)), 0.0)
    tracks.restart_at_cut("the scene changed")
    assert tracks.tracks == [track] and track.held == RIGHT and not track.confirmed
    assert not refiner.tracking and refiner.scale is None and refiner.last_reset == "the scene changed"
    assert track.smoother.last_reset == "the scene changed"
    (again,) = tracks.match([np.array([20.0, 0.0, 600.0])], 1 / 30)
    assert again is track and again.held == RIGHT
