"""Selection validity of a parameter sweep (DESIGN §7): distinct trials, the Deflated Sharpe
Ratio, the Probability of Backtest Overfitting, plateaus, an anchored walk-forward and a
paired block bootstrap, with a verdict. Pure functions over numpy arrays; no database, no web
framework. Start with :func:`analyze_sweep`."""

from app.analysis.metrics import SUPPORTED_METRICS, Constraint, Objective
from app.analysis.result import SweepAnalysis
from app.analysis.sweep import analyze_sweep

__all__ = ["SUPPORTED_METRICS", "Constraint", "Objective", "SweepAnalysis", "analyze_sweep"]
