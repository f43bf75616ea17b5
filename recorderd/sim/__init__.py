"""The camera simulator: every dialect over real HTTP, scripted events, fault injection (`recorderd simulate`)."""

from recorderd.sim.camera import ControlCall, Effect, FrameInfo, RequestRecord, SimCamera, StreamStats
from recorderd.sim.config import (
    Faults,
    ScenarioStep,
    SimCameraConfig,
    SimConfig,
    load_sim_config,
    parse_sim_config,
)
from recorderd.sim.server import Simulator, SimulatorError, open_simulator, serve_simulator

__all__ = [
    "ControlCall",
    "Effect",
    "Faults",
    "FrameInfo",
    "RequestRecord",
    "ScenarioStep",
    "SimCamera",
    "SimCameraConfig",
    "SimConfig",
    "Simulator",
    "SimulatorError",
    "StreamStats",
    "load_sim_config",
    "open_simulator",
    "parse_sim_config",
    "serve_simulator",
]
