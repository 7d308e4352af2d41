"""The whole world of the set, built in order: records and entities, SDN entries,
screening indexes, the real subjects, then the derived ones; and the risk tier of each."""

from __future__ import annotations

from evals.dataset.edd_demo.country_risk import CountryRisk, country_exposure
from evals.dataset.edd_demo.derived import PersonPicker, add_derived, select_pools
from evals.dataset.edd_demo.ownership import transparency
from evals.dataset.edd_demo.reference import add_reference_orgs
from evals.dataset.edd_demo.sanctions import load_sdn, mark_used
from evals.dataset.edd_demo.screening import Screener
from evals.dataset.edd_demo.sources import Sources
from evals.dataset.edd_demo.world import Org, World


class Builder:
    """Builds the world, the screening results and the country risk of the golden set."""

    def __init__(self, src: Sources) -> None:
        self.src = src
        self.world = World(src)
        self.sdn = load_sdn(src)
        self.screener = Screener(self.world, self.sdn)
        add_reference_orgs(self.world)
        pools = select_pools(self.world, self.screener, self.sdn)
        add_derived(self.world, PersonPicker(self.world, pools))
        # The copy holds only the used SDN rows, so it carries the exposure precomputed.
        exposure = src.exposure if src.exposure is not None else country_exposure(self.sdn)
        self.countries = CountryRisk(exposure)

    def subject_risk(self, org: Org) -> str:
        """Risk tier of a subject: high for a severe match, a high-risk jurisdiction or an
        opaque ownership; medium for any other match, medium risk, partial transparency or
        an inactive status; low otherwise."""
        screen = self.screener.screen(org)
        matches = [h for r in screen for h in r.hits if h.verdict == "match"]
        label, _, _ = transparency(org)
        jur = self.countries.jurisdiction(org).overall
        severe = [
            h
            for h in matches
            if h.source == "SDN" or h.view.get("category") in ("Sanctioned", "Fraud")
        ]
        if severe or jur == "high" or label == "opaque":
            return "high"
        if matches or jur == "medium" or label != "fully transparent" or org.status != "Active":
            return "medium"
        return "low"

    def mark_used_sdn(self) -> None:
        """Keep the SDN rows used (planted entries and every hit) in the copy."""
        for ent in sorted(self.world.used_sdn, key=int):
            mark_used(self.src, self.sdn[ent])
