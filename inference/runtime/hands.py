"""Several hands over time: per-hand tracks and the handedness decision.

A left hand is a mirrored right hand. Reflecting the scene about the camera's ``x = 0`` plane maps pixel ``u`` to
``2 cx - u`` (perspective included), so the pipeline processes a left hand exactly as a right one in the mirrored
image (:mod:`inference.runtime.mirror`): the right-hand network, the right-hand model fit and its track all live in
that space, and the joints are mirrored back at the end.

A :class:`HandTrack` is one hand's state across frames: where it was last seen, its smoothing filters, one fit
track per side hypothesis and the evidence for its side. While the side is open, both hypotheses run and each
frame where one of them fits adds the difference of their fit residuals (the right-hand model fits the depth of a
right hand more closely than of a mirrored one). Where the left/right classifier is installed
(:mod:`inference.runtime.side_classifier`), its logit on every frame's crop is a second, leaky vote (recent frames
count most) that runs whether the side is held or not: it usually holds the side on the first frame (one hypothesis
from then on) and turns a held side over when several frames in a row say otherwise. The side is held once the
evidence is clear (:class:`HandednessSettings`). Two hands in view at once are one left and one right: they get
opposite sides, the more certain one deciding. :class:`HandTracks` matches each frame's hand candidates to the tracks
(nearest palm), keeps lost tracks for a while so that a hand that leaves and comes back gets its side back, and
forgets them after ``forget_s``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.fit.refiner import HandRefiner, RefineSettings
from inference.runtime.smoothing import JointSmoother, SmoothingParams

RIGHT, LEFT = "right", "left"
SIDES: tuple[str, str] = (RIGHT, LEFT)


@dataclass(frozen=True)
class HandednessSettings:
    """When a hand's side is held and how hands are followed.

    Attributes:
        clip_mm: one frame's residual difference counts at most this much (a single bad fit cannot decide).
        good_fit_mm: a frame counts only when the better of the two fits is this close to the depth (when neither
            fits, e.g. a hand half hidden by the other, their residuals say nothing about the side; measured on
            two-hand sequences: such frames pointed the wrong way as often as not).
        pair_prior_mm: the evidence worth of "a person faces the camera" for two hands in view (see
            :meth:`HandTracks.settle_pair`); below one frame's ``clip_mm``, so one good fit outweighs it.
        decide_mm: evidence (mm of residual difference, plus the classifier's vote in mm) at which the side is held;
            a held side turns over when the evidence reaches it the other way (only the classifier's vote moves
            while a side is held).
        alone_fit_weight, alone_fair_fit_mm: a hand alone in view (no other hand confirmed beside it) counts its fits'
            residual difference this many times where the better fit is within ``good_fit_mm``, and half that where it
            is within ``alone_fair_fit_mm``. Measured on 706 hands of independent random frames (one- and two-hand
            sets, every frame fitted as a start on both sides): fits within 2.5 mm named the side right 97.6% of the
            time (99.5% at a difference of 1.5 mm or more), fits within 2.5-5 mm 84%, while the classifier, read with
            its mirror image, was right on 75% of them (its logit is about the log-odds there: readings of 1-2 were
            right 82% of the time, 3-5 99%; on sequences' crops it is right 97% of the time). So a good fit alone
            outweighs a classifier reading below 3. Two hands in view keep the weight 1 and the ``good_fit_mm`` bar:
            there a hand half hidden by the other fits poorly on both sides (on two-hand sequences D and F, counting
            fair fits and halving the classifier's weight for every hand lost 3.5-4.7 points of sides).
        mm_per_logit: what one unit of the classifier's side logit is worth in mm of residual difference.
        logit_clip: one frame's classifier logit counts at most this much (side and hand alike).
        vote_decay: the classifier's vote is ``decay * vote + clip(logit)`` each frame (a leaky sum: a steady
            ``logit_clip`` saturates at ``logit_clip / (1 - decay)``, and as many frames against it turn it over).
        hand_vote_mm: a candidate other than the nearest is reported as a hand once the classifier's leaky "a hand"
            vote reaches this (in the same mm units; the vote saturates at 26.7 mm, so it takes a run of sure
            frames) in a frame where a fit came within ``vote_fit_mm``, even if no fit came within ``confirm_mm`` (a
            hand half hidden by the other is fitted poorly: on two-hand sequences such second hands went unreported
            for 20-30 frames); one whose vote reaches it the other way is set aside as not a hand (not estimated, see
            :meth:`HandTrack.skip`). 22 mm let a head behind the hand through on a one-hand sequence (the masked hand
            leaves a hand-shaped hole in it).
        vote_fit_mm: see ``hand_vote_mm`` (the fit's own acceptance bar).
        hand_sure_mm: a hand vote this sure confirms the candidate whatever its fits.
        sure_logit, sure_frames: a candidate whose "a hand" logit reaches ``sure_logit`` on ``sure_frames`` frames in
            a row is confirmed once a fit comes within ``vote_fit_mm`` (the leaky vote, clipped per frame, takes 6
            frames to reach ``hand_vote_mm`` even where every reading is sure: a second hand in view from a
            sequence's first frame went unreported that long). Measured: the false second candidates of one-hand
            sequences (clutter, a head) read at most 6.7; second hands mostly 10-30.
        maybe_logit: a candidate that reads at least this as a hand (or is confirmed) counts as a hand being followed
            (:meth:`HandTracks.alone`): above the 6.7 of the clutter read on the one-hand sequences.
        max_open_frames: after this many frames with both hypotheses the side shown is held (the second hypothesis
            costs a network pass and a fit per frame); it may come from the other hand or the position, not the fits.
        match_mm: a candidate belongs to a track whose last palm centre is within this (at 30 fps a hand moves
            < 130 mm between frames).
        return_mm: a candidate may take over a lost track whose last palm is within this.
        return_prior_mm: the evidence a returning hand's remembered side starts with (half of ``decide_mm``: one
            good frame that agrees holds it again; on synthetic cuts where another person's hand took the place of
            a lost one, holding the remembered side outright swapped both hands of the next person).
        forget_s: a lost track is forgotten after this long.
        confirm_mm: a candidate other than the nearest is reported as a hand once one of its fits came this close to
            the depth (on one-hand sequences the false second candidates, background blobs and forearms, never fitted
            within 6 mm; second hands mostly did, within a few frames); again after the hand was lost. Not while the
            classifier's last reading of it is below ``confirm_min_logit``.
        confirm_min_logit: a candidate read below this as a hand is not confirmed by a fit within ``confirm_mm``
            alone. Since the fit searches the hand's size, blobs that are no hand (reading -5 to -1) fit within 5 mm
            too: on the 480-frame one-hand sequence one was reported as a left hand on 67 frames and fitted on both
            sides on each (70-90 ms a frame); second hands read 10-30.
        reject_after_frames: a candidate that has not been confirmed after this many frames is not a hand: it is not
            estimated again while it is followed (it costs nothing more).
    """

    clip_mm: float = 3.0
    good_fit_mm: float = 2.5
    pair_prior_mm: float = 2.0
    decide_mm: float = 6.0
    alone_fit_weight: float = 2.0
    alone_fair_fit_mm: float = 5.0
    mm_per_logit: float = 2.0
    logit_clip: float = 4.0
    vote_decay: float = 0.7
    hand_vote_mm: float = 24.0
    vote_fit_mm: float = 10.0
    hand_sure_mm: float = 26.0
    sure_logit: float = 10.0
    sure_frames: int = 3
    maybe_logit: float = 7.0
    max_open_frames: int = 30
    match_mm: float = 150.0
    return_mm: float = 400.0
    return_prior_mm: float = 3.0
    confirm_mm: float = 5.0
    confirm_min_logit: float = 0.0
    reject_after_frames: int = 10
    forget_s: float = 5.0


@dataclass
class HandTrack:
    """One hand across frames (see the module doc).

    Attributes:
        track_id: a number that stays with the hand.
        com_xyz_mm: ``(3,)`` its palm centre when last seen (camera space): the segmentation's.
        palm_xyz_mm: ``(3,)`` its crop's centre when last estimated (camera space; the crop re-centres on the palm
            the network finds, where the segmentation's centre may be at the far end of the arm); None before.
        last_seen_s: the timestamp of that frame.
        present: seen in the current frame.
        in_view_since_s: the timestamp of the first frame of its current stay in view (made, or back after lost).
        last_hand_s: the timestamp of the last frame where it was confirmed as a hand or read as maybe one
            (``HandednessSettings.maybe_logit``); -inf: never.
        continued: seen in the previous frame too (not new, not back from being lost).
        confirmed: a hand model fitted it once (see ``HandednessSettings.confirm_mm``); not_a_hand: it never did.
        evidence_mm: sum over frames of ``clip(residual_left - residual_right)``: > 0 says right.
        vote: the classifier's leaky vote for "right" (logit units; 0 without the classifier).
        hand_vote: its leaky vote for "a hand".
        frames_open: frames with both hypotheses so far.
        held: the side once held (None while open).
        refiners: the fit track per side hypothesis (each in its own space: a left one in the mirrored image).
        smoother, smoother36: the joint filters of the reported pose (camera space).
    """

    track_id: int
    com_xyz_mm: np.ndarray
    last_seen_s: float
    refine_settings: RefineSettings
    smoothing_params: SmoothingParams
    present: bool = True
    in_view_since_s: float = field(init=False)
    last_hand_s: float = -np.inf
    evidence_mm: float = 0.0
    vote: float = 0.0
    hand_vote: float = 0.0
    frames_open: int = 0
    held: str | None = None
    side_shown: str | None = None
    shown_last: str | None = None
    continued: bool = False
    confirmed: bool = False
    not_a_hand: bool = False
    frames_unconfirmed: int = 0
    sure_run: int = 0  # frames in a row whose "a hand" logit reached HandednessSettings.sure_logit
    palm_xyz_mm: np.ndarray | None = None
    hand_logit: float = -np.inf  # the classifier's last "a hand" logit on this hand's crop (-inf: none yet)
    side_logit: float = 0.0  # and its last side logit
    reads_reused: int = 0  # frames in a row its last reading stood for a new one (see Pipeline._remembered_reads)
    mm_per_logit: float = 2.0
    refiners: dict[str, HandRefiner] = field(default_factory=dict)
    smoother: JointSmoother = field(init=False)
    smoother36: JointSmoother = field(init=False)

    def __post_init__(self) -> None:
        self.in_view_since_s = self.last_seen_s
        self.smoother = JointSmoother(self.smoothing_params)
        self.smoother36 = JointSmoother(self.smoothing_params)

    def refiner(self, side: str) -> HandRefiner:
        if side not in self.refiners:
            self.refiners[side] = HandRefiner(self.refine_settings)
        return self.refiners[side]

    @property
    def leaning(self) -> str:
        """The side the evidence favours (right on a tie)."""
        return self.held or (RIGHT if self.side_mm >= 0 else LEFT)

    @property
    def side_mm(self) -> float:
        """All the side evidence in mm of residual difference (the fits' and the classifier's): > 0 says right."""
        return self.evidence_mm + self.mm_per_logit * self.vote

    def hypotheses(self) -> tuple[str, ...]:
        """The sides to run this frame: the held one, or both while open."""
        return (self.held,) if self.held else SIDES

    def add_classifier(self, side_logit: float, hand_logit: float, settings: HandednessSettings) -> None:
        """One frame's classifier logits on this hand's crop (in the camera's space: > 0 says right / a hand)."""
        clip, decay = settings.logit_clip, settings.vote_decay
        self.vote = decay * self.vote + float(np.clip(side_logit, -clip, clip))
        self.hand_vote = decay * self.hand_vote + float(np.clip(hand_logit, -clip, clip))
        self.sure_run = self.sure_run + 1 if hand_logit >= settings.sure_logit else 0
        self.hand_logit, self.side_logit, self.reads_reused = float(hand_logit), float(side_logit), 0
        if hand_logit >= settings.maybe_logit:
            self.last_hand_s = self.last_seen_s
        if self._surely_a_hand(settings):  # estimated, to be confirmed by a fair fit (confirm)
            self.not_a_hand = False
        elif self.mm_per_logit * self.hand_vote <= -settings.hand_vote_mm and not self.confirmed:
            # surely not: not estimated (see skip)
            self.not_a_hand = True
        self.decide(settings, count_frame=False)

    def add_evidence(self, residual_mm: dict[str, float], settings: HandednessSettings, alone: bool = False) -> None:
        """One frame's fit residuals per side (NaN/inf: that hypothesis found no fit); ``alone``: no other hand is
        confirmed beside this one (``HandednessSettings.alone_fit_weight``)."""
        if self.held or len(residual_mm) < 2:
            return
        right, left = residual_mm[RIGHT], residual_mm[LEFT]
        best = min(right, left)
        weight = 0.0
        if best <= settings.good_fit_mm:
            weight = settings.alone_fit_weight if alone else 1.0
        elif alone and best <= settings.alone_fair_fit_mm:
            weight = 0.5 * settings.alone_fit_weight
        if weight > 0.0:
            big = settings.clip_mm
            diff = big if not np.isfinite(left) else -big if not np.isfinite(right) else left - right
            self.evidence_mm += weight * float(np.clip(diff, -big, big))
        self.decide(settings, count_frame=True)

    def decide(self, settings: HandednessSettings, count_frame: bool) -> None:
        """Hold the side once the evidence reaches ``decide_mm`` (or after ``max_open_frames`` open frames: the side
        shown so far); turn a held side over when it reaches it the other way."""
        side_mm = self.side_mm
        if self.held is not None:
            if abs(side_mm) >= settings.decide_mm and (RIGHT if side_mm > 0 else LEFT) != self.held:
                self.hold(other_side(self.held))
            return
        self.frames_open += int(count_frame)
        if abs(side_mm) >= settings.decide_mm:
            self.hold(RIGHT if side_mm >= 0 else LEFT)
        elif self.frames_open >= settings.max_open_frames:  # the evidence told little: keep the side shown so far
            self.hold(self.side_shown or self.leaning)

    def confirm(self, residual_mm: dict[str, float], settings: HandednessSettings) -> None:
        """Whether this candidate is a hand: one fit within ``confirm_mm`` confirms it (unless the classifier's last
        reading of it is below ``confirm_min_logit``), or one within ``vote_fit_mm``
        while the classifier's hand vote is sure or its readings have been (``sure_logit``, ``sure_frames``);
        ``reject_after_frames`` frames in a row without set it aside
        (:attr:`skip` then says when it is tried again)."""
        if self.confirmed:
            self.last_hand_s = self.last_seen_s
            return
        best_mm = min(residual_mm.values(), default=np.inf)
        if ((best_mm <= settings.confirm_mm and not self.doubted(settings))
                or (self._surely_a_hand(settings) and best_mm <= settings.vote_fit_mm)
                or self.mm_per_logit * self.hand_vote >= settings.hand_sure_mm):
            self.confirmed, self.not_a_hand = True, False
            self.last_hand_s = self.last_seen_s
            return
        self.frames_unconfirmed += 1
        self.not_a_hand = self.frames_unconfirmed >= settings.reject_after_frames

    def doubted(self, settings: HandednessSettings) -> bool:
        """Not confirmed, and the classifier's last reading says no hand (below ``confirm_min_logit``; no reading:
        not doubted): no fit confirms it (:meth:`confirm`), so it is not fitted."""
        return not self.confirmed and np.isfinite(self.hand_logit) and self.hand_logit < settings.confirm_min_logit

    def _surely_a_hand(self, settings: HandednessSettings) -> bool:
        """The classifier's readings say "a hand": the leaky vote reached ``hand_vote_mm``, or ``sure_frames`` readings
        in a row reached ``sure_logit``."""
        return (self.mm_per_logit * self.hand_vote >= settings.hand_vote_mm
                or self.sure_run >= settings.sure_frames)

    def skip(self, settings: HandednessSettings) -> bool:
        """Whether to leave this candidate out this frame: set aside as not a hand, except one frame in
        ``reject_after_frames`` (a hand that was hidden or badly seen at first gets another chance)."""
        if not self.not_a_hand:
            return False
        self.frames_unconfirmed += 1
        return self.frames_unconfirmed % settings.reject_after_frames != 0

    def reopen(self, prior_mm: float) -> None:
        """The hand is back after being lost: its held side leads by ``prior_mm`` of evidence, but both hypotheses
        run again until the evidence is clear (a different hand may have come into view where it left)."""
        if self.held is not None:
            self.evidence_mm = prior_mm if self.held == RIGHT else -prior_mm
            self.held, self.frames_open, self.vote = None, 0, 0.0

    def hold(self, side: str) -> None:
        """Hold ``side`` from now on; the other hypothesis's fit track is dropped."""
        self.held = side
        self.refiners = {side: self.refiner(side)}

    def reset(self, reason: str) -> None:
        """Forget the filters and fit tracks (not the side: it is the same hand); a candidate after the nearest must
        be confirmed again (what comes back where a hand left need not be that hand), one set aside stays so (a
        flickering blob is not estimated again each time it reappears)."""
        self.confirmed = False
        self.smoother.reset(reason)
        self.smoother36.reset(reason)
        for r in self.refiners.values():
            r.reset(reason)


def other_side(side: str) -> str:
    return LEFT if side == RIGHT else RIGHT


class HandTracks:
    """The tracks of the hands in view and of those lost a short while ago (see the module doc).

    Used by the processing thread only (the pipeline swaps in a :meth:`fresh` one on a reset, between frames).
    """

    def __init__(self, settings: HandednessSettings | None = None, refine_settings: RefineSettings | None = None,
                 smoothing_params: SmoothingParams | None = None, max_hands: int = 2) -> None:
        self.settings = settings or HandednessSettings()
        self.refine_settings = refine_settings or RefineSettings()
        self.smoothing_params = smoothing_params or SmoothingParams()
        self.max_hands = max_hands
        self.tracks: list[HandTrack] = []
        self._next_id = 0
        # The pipeline's last hand shown per track id and when (s): a hand hidden by the other a moment later is
        # shown at it (Pipeline._hidden). Forgotten at a cut, and with the tracks.
        self.last_shown: dict[int, tuple[Any, float]] = {}

    def fresh(self) -> HandTracks:
        """Empty tracks with the same settings."""
        return HandTracks(self.settings, self.refine_settings, self.smoothing_params, self.max_hands)

    def match(self, centres_xyz_mm: list[np.ndarray], timestamp_s: float,
              covers: Sequence[Callable[[np.ndarray], bool]] | None = None) -> list[HandTrack]:
        """The track of each candidate (palm centres ``(3,)`` mm, nearest hand first): the nearest track seen in the
        previous frame within ``match_mm``, else the one hand seen in the previous frame (if it was the only one)
        when the candidate's blob lies over its palm (``covers[k](xyz)``: the segmentation's centre went to the other
        end of the same arm, and the crop's re-centring walks back to the hand), else the nearest lost one within
        ``return_mm``, else a new one. Tracks not matched are lost (filters and fit tracks reset); tracks lost longer
        than ``forget_s`` are dropped."""
        s = self.settings
        self.tracks = [t for t in self.tracks if t.present or timestamp_s - t.last_seen_s <= s.forget_s]
        out: list[HandTrack | None] = [None] * len(centres_xyz_mm)
        taken: set[int] = set()
        for t in self.tracks:
            t.continued = False
        for pool, gate in (([t for t in self.tracks if t.present], s.match_mm),
                           ([t for t in self.tracks if not t.present], s.return_mm)):
            # A lost hand cannot come back on the side of a hand still in view (one left and one right).
            sides_in_view = {t.held for t in self.tracks if t.track_id in taken}
            pool = [t for t in pool if t.held is None or t.held not in sides_in_view]
            pairs = sorted(
                (float(np.linalg.norm(c - t.com_xyz_mm)), k, i)
                for k, c in enumerate(centres_xyz_mm) if out[k] is None
                for i, t in enumerate(pool)
            )
            for dist, k, i in pairs:
                if dist <= gate and out[k] is None and pool[i].track_id not in taken:
                    out[k] = pool[i]
                    taken.add(pool[i].track_id)
            # Only a hand followed alone: where two were, the blob of one (crossed arms, touching hands) may lie over
            # the other's palm.
            if covers is not None and gate == s.match_mm and len(pool) == 1:
                (only,) = pool
                palm = only.com_xyz_mm if only.palm_xyz_mm is None else only.palm_xyz_mm
                for k in range(len(centres_xyz_mm)):
                    if out[k] is None and only.track_id not in taken and covers[k](palm):
                        out[k] = only
                        taken.add(only.track_id)
        returning = {t.track_id for t in out if t is not None and not t.present}
        for k, c in enumerate(centres_xyz_mm):
            if out[k] is None:
                track = HandTrack(self._next_id, np.asarray(c, np.float64), timestamp_s, self.refine_settings,
                                  self.smoothing_params, mm_per_logit=s.mm_per_logit)
                self._next_id += 1
                self.tracks.append(track)
                out[k] = track
                taken.add(track.track_id)
        for track in self.tracks:
            if track.track_id not in taken and track.present:
                track.present = False
                track.reset("hand lost")
        for track, c in zip(out, centres_xyz_mm, strict=True):
            assert track is not None
            if track.track_id in returning:
                track.in_view_since_s = timestamp_s
                track.reset("hand came back")
                track.reopen(s.return_prior_mm)  # its side leads, the fits confirm it (or not: another hand)
            track.continued = track.present and track.track_id not in returning and track.last_seen_s < timestamp_s
            track.present, track.com_xyz_mm, track.last_seen_s = True, np.asarray(c, np.float64), timestamp_s
        return [t for t in out if t is not None]

    def restart_at_cut(self, reason: str) -> None:
        """A scene cut: every track's filters and fit tracks restart (the hand's size is estimated again) and a
        candidate after the nearest must be confirmed again (:meth:`HandTrack.reset`), keeping which hands are
        followed and their sides: the hands in view are matched to the tracks as on any frame.

        - Forgetting the tracks too lost the second hand for up to 10 frames after each cut while its side was
          decided again (two-hand set F: both found 88.0 -> 83.3%).
        - Keeping the confirmations let whatever lay where a hand had been (clutter, a forearm) be reported as a hand
          at once, and its held side turned the real hand over (one-hand random frames, every frame a cut, through
          ``--max-hands 2``: 10.5 -> 9.7 mm; the two-hand sets and the one-hand sequences are unchanged).
        """
        for track in self.tracks:
            track.reset(reason)
        self.last_shown.clear()

    def shift_clock(self, shift_s: float) -> None:
        """Move every time the tracks hold by ``shift_s`` (s): the source's clock restarted (a replay's loop, a seek
        back), and their times stay in step with the frames'."""
        for track in self.tracks:
            track.last_seen_s += shift_s
            track.in_view_since_s += shift_s
            track.last_hand_s += shift_s  # (-inf: never a hand, stays so)
        self.last_shown = {k: (hand, shown_s + shift_s) for k, (hand, shown_s) in self.last_shown.items()}

    def lose_all(self) -> None:
        """No hand in this frame."""
        for track in self.tracks:
            if track.present:
                track.present = False
                track.reset("hand lost")

    def followed(self, centre_xyz_mm: np.ndarray, same_mm: float) -> HandTrack | None:
        """The track in view last frame (not set aside as no hand) nearest to ``centre_xyz_mm`` ``(3,)``, if within
        ``same_mm``."""
        in_view = [t for t in self.tracks if t.present and not t.not_a_hand]
        if not in_view:
            return None
        track = min(in_view, key=lambda t: float(np.linalg.norm(t.com_xyz_mm - centre_xyz_mm)))
        return track if np.linalg.norm(track.com_xyz_mm - centre_xyz_mm) <= same_mm else None

    def alone(self, centre_xyz_mm: np.ndarray, timestamp_s: float, min_logit: float, same_mm: float,
              recent_s: float) -> bool:
        """Whether exactly one hand is followed, at ``centre_xyz_mm`` ``(3,)`` (within ``same_mm``; of the tracks in
        view last frame that are not set aside as no hand, the nearest to it): it read at least ``min_logit`` as a
        hand on its last frame, and no other track, not set aside as no hand, was maybe a hand
        (:attr:`HandTrack.last_hand_s`) in the last ``recent_s`` while it was in view (a hand hidden behind it comes
        back any frame; a hand that jumped to where this one is, a cut to a new scene, is no other hand). A caller
        that follows one hand may look for new ones less often (``PipelineSettings.recheck_every``)."""
        main = self.followed(centre_xyz_mm, same_mm)
        if main is None or main.hand_logit < min_logit:
            return False
        return not any(t is not main and not t.not_a_hand and t.last_hand_s >= main.in_view_since_s
                       and timestamp_s - t.last_hand_s <= recent_s for t in self.tracks)

    def settle_pair(self, tracks: list[HandTrack], ran: dict[int, tuple[str, ...]] | None = None) -> None:
        """Set every track's ``side_shown``; two hands in view are one left and one right.

        A track whose side is fixed (held, and only that side estimated this frame: ``ran`` per track id, None
        before estimating) keeps it and the other takes the opposite (two fixed on one side: the one with less
        evidence moves). Otherwise the pair is settled together by ``side_mm_a - side_mm_b``, plus
        ``pair_prior_mm`` toward "the hand on the camera's left is the right hand" (a person facing the camera),
        which decides only while the fits have told little.
        """
        for t in tracks:
            t.side_shown = t.leaning
        if len(tracks) != 2:
            return
        a, b = tracks
        fixed = [t for t in tracks if t.held is not None and (ran is None or len(ran[t.track_id]) == 1)]
        if len(fixed) == 2:
            if a.held == b.held:  # the hand followed from the last frame keeps its side, then the surer one
                weak = min(tracks, key=lambda t: (t.continued, abs(t.side_mm)))
                weak.hold(other_side(weak.held or RIGHT))
                weak.side_shown = weak.held
            return
        if len(fixed) == 1:
            strong = fixed[0]
            weak = b if strong is a else a
            weak.side_shown = other_side(strong.side_shown or RIGHT)
            if weak.held is not None and weak.held != weak.side_shown:
                weak.hold(weak.side_shown)
            return
        prior = self.settings.pair_prior_mm * float(np.sign(b.com_xyz_mm[0] - a.com_xyz_mm[0]))
        a.side_shown = RIGHT if a.side_mm - b.side_mm + prior >= 0 else LEFT
        b.side_shown = other_side(a.side_shown)
        for t in tracks:
            if t.held is not None and t.held != t.side_shown:
                t.hold(t.side_shown)
