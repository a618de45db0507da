"""Multi-object navigation in Habitat scenes through habitat-sim (`objnav-habitat`, an optional backend).

The same task as `objnav-apartment` (scenes/objnav/: ExtObjNav from ReLIC, Elawady et al. 2024, the navigation
benchmark of Memo, Gupta et al. 2025), in photo-realistic scanned or synthetic houses rendered by habitat-sim. The
observation layout, the actions, the reward, the success rule, the trial structure and the info keys are those of
`objnav-apartment`, so every agent that runs there runs here. habitat-sim is imported lazily: listing this scene,
reading its schema and drawing tasks work without it; making an environment without it raises
`HabitatUnavailableError` with one line saying how to get it.

## What was run here
habitat-sim could not be installed on the development machines (it is conda-only upstream; the PyPI entries are
stale or pure-Python shells; docs/reference/landscape.md), so the simulator path of this module
(`HabitatEpisodes`, the worker processes, `HabitatObjNavBatch`, `ObjNavHabitatEnv`) was written against
habitat-sim 0.3.x's documented and source-level API but has never been executed here. What the tests run is
everything around it: the pure mapping functions (observation assembly from synthetic RGB / depth arrays and a
pose, category mapping and one-hot, SPL, reward, action mapping, success geometry, frame composition, scene
lists and splits), the schema, the missing-backend message through `make_env`, `make_batch` and `main.py`, and
the worker-process plumbing up to the point where a spawned worker fails to import habitat-sim and reports it.
tests/test_scenes_objnav_habitat.py also holds a test of the real simulator, skipped where habitat-sim is
missing; run it where it is installed (with the MP3D example scene downloaded) before trusting this backend.

## Getting habitat-sim and scenes
    conda install habitat-sim -c conda-forge -c aihabitat      (headless: add `headless`)
    python -m habitat_sim.utils.datasets_download --uids mp3d_example_scene --data-path data/
Scenes need semantic annotations (goal instances come from `sim.semantic_scene.objects`): MP3D (`.house`),
HM3D-Semantics, HSSD (hssd-hab). `ENGRAM_HABITAT_SCENES` lists the scenes (scene files or scene ids of a dataset,
separated by os.pathsep like PATH; default: the MP3D example scene `DEFAULT_SCENE`), `ENGRAM_HABITAT_DATASET`
the scene dataset config file (`SimulatorConfiguration.scene_dataset_config_file`, default "default"). They are
read when the scene is made, and are environment variables rather than scene options because a scene option is
a number or a choice (`TaskParam`), which a list of paths is not.

## Observation, actions (exactly objnav-apartment's layout)
One flat float32 vector: the head camera image HWC, RGB / 255 (`depth` option: a 4th channel, depth / 5 m,
clipped) | GPS 2 | compass 2 | goal one-hot. The camera is 0.88 m above the floor with a 79° field of view,
rendered at `image_size`² by habitat-sim. GPS is (x, -z) in the scene frame seen from above (habitat is y-up,
forward is -z), offset to the navmesh's lower corner so it is non-negative like the apartment's, in metres / 10.
The compass is (sin a, cos a) of the heading a measured counter-clockwise from +x in that frame, so a forward
step moves GPS along (cos a, sin a) as in the apartment. Actions: 0 stop, 1 `move_forward` 0.25 m,
2 `turn_left` 30°, 3 `turn_right` 30° (`HABITAT_ACTIONS`).

## Goal categories and the one-hot size (decided here)
Object categories of a scene's semantic annotation are mapped by name (normalised, with aliases such as couch ->
sofa and tv -> tv_monitor; `category_index`) onto the category set chosen by the `categories` option:
- "objectnav-8" (default): Habitat ObjectNav's six HM3D categories plus table and cabinet. Its one-hot has 8
  entries, the size of objnav-apartment's, so at the same `image_size` and `depth` the two scenes' observation
  vectors have the same length and layout and one agent network accepts both (slot k names a different object
  in each: the layout transfers, not the meaning).
- "hm3d-6" (Habitat's HM3D ObjectNav) and "mp3d-21" (Habitat's MP3D ObjectNav): their one-hot sizes, 6 and
  21, differ from the apartment's 8, so an agent built for one scene does not take the other's observations.
Objects of other categories are scenery.

## Episodes, reward, success (ExtObjNav-style trials)
A trial is `trial_steps` steps in ONE scene; every episode starts at a random navigable point at least 1 m of
geodesic distance from its goal, facing one of the 12 headings, with a new goal category drawn from those with a
reachable instance (task `goal_category = "any"`). Goal instances are the scene's semantic objects of that
category; their view points are navmesh points within 1.5 m (horizontally) of the object's bounding box and on
its floor. `r = (d_prev - d) + 2.5·success - 0.01` with d the geodesic distance to the nearest view point
(`MultiGoalShortestPath`). Stop ends the episode and succeeds if the agent is within 1.5 m of a goal instance's
box and that instance covers at least `min_goal_pixels` of the semantic sensor's image (Memo's rule: 10 pixels of
a 256² head camera, scaled). Episodes last at most `episode_length` (500) steps; `info` carries `success`,
`spl`, `collided`, `distance_to_goal` and `goal` as in objnav-apartment.

## Task parameters
`scene_index` (which of the listed scenes; an edit loads the new scene, places the agent at a random navigable
point and keeps the episode going) and `goal_category` ("any" or a category of the chosen set that the scene
has; an edit applies at once and re-bases d_prev, so the edit pays no reward). Edits that cannot apply raise
`UserError` (a ValueError) and change nothing (a scene that lacks the goal category is unloaded again). The apartment's
`camera_resolution` and object moves have no counterpart: habitat-sim's sensors are fixed when the simulator is
configured and a scanned scene's objects are part of its mesh.

## Processes
habitat-sim supports one `Simulator` per process (habitat-sim issues #1292, #1741), so every environment, even a
single one, runs its simulator in its own spawned worker process; the batch steps them in parallel over pipes
(`scenes.worker_pipe`: a simulator's method is a command, a refused edit comes back as its UserError, a
crashed simulator as an error naming its env).

## Deviations from ExtObjNav (ReLIC / Memo)
ReLIC's episodes place YCB objects (20 categories) on HSSD receptacles for a Fetch robot, with success within
2 m of an object that shows at least 10 pixels in a panoptic sensor, reward 2 for success and -0.005 per step
(Memo's memo/configs/tasks/smallObjNavBase.yaml, memo/tasks/measures.py `PddlTaskSuccess.sees_object`,
memo/tasks/pddl_multi_task.py `robot_at_threshold = 2`). Here: the scene's own annotated objects, a cylinder agent
(radius 0.18 m, Habitat ObjectNav's), episodes generated on the fly rather than read from a dataset file,
objnav-apartment's radius (1.5 m) and reward, no look-up/down actions, sliding along walls allowed (habitat-sim's
default; the apartment does not slide), GPS and compass in the scene frame rather than relative to the start.

## Sources followed (API read, code written here)
habitat-sim 0.3.3: `src_python/habitat_sim/utils/settings.py` (`make_cfg`: SimulatorConfiguration, CameraSensorSpec,
AgentConfiguration, ActionSpec/ActuationSpec, NavMeshSettings), `simulator.py` (`step` returns the observations
with "collided"; `reconfigure`), `agent/agent.py` (AgentState, `set_state`), `utils/common.py`
(`quat_from_coeffs`, [x, y, z, w]), `src/esp/bindings/ShortestPathBindings.cpp` (PathFinder, MultiGoalShortestPath),
`SceneBindings.cpp` (SemanticObject `semantic_id`, `aabb`, `category.name()`), `Mp3dSemanticScene.cpp` (MP3D's
`name()` is the mpcat40 name); magnum's `Range3D` binding (`min` / `max` are properties, `center()` a method);
habitat-lab's ObjectNav category lists for HM3D and MP3D.

## Files (one job each)
- `spec.py`: what every part agrees on, without habitat-sim: the install message, the scene list's variables,
  units and limits, habitat-sim's action keys, category sets and name mapping, scene lists and splits, the task
  parameters and options.
- `mapping.py`: pure functions from habitat-sim's arrays and poses to the observation, reward, success and
  viewer frame.
- `simulator.py`: one habitat_sim.Simulator, its scenes and episodes (`HabitatEpisodes`), in a worker process.
- `batch.py`: the batch env (`HabitatObjNavBatch`), one worker process per env.
- `scene.py`: the scene and its single env (`ObjNavHabitat`, `ObjNavHabitatEnv`).
"""

from scenes.objnav import observation_size
from scenes.objnav_habitat.batch import HabitatObjNavBatch
from scenes.objnav_habitat.mapping import (
    GoalInstance,
    assemble_observation,
    box_distance_xz,
    compose_frame,
    fit_into,
    goal_instances,
    goal_one_hot,
    goal_reached,
    heading_quaternion,
    is_view_point,
    min_goal_pixels,
    nearest_resize,
    planar_heading,
    planar_position,
    rotate_vector,
    spl,
    step_reward,
    view_point_candidates,
)
from scenes.objnav_habitat.scene import ObjNavHabitat, ObjNavHabitatEnv
from scenes.objnav_habitat.simulator import HabitatEpisodes
from scenes.objnav_habitat.spec import (
    AGENT_RADIUS,
    ALL_CATEGORIES,
    CATEGORY_ALIASES,
    CATEGORY_SETS,
    DATASET_ENV,
    DEFAULT_SCENE,
    GOAL_PIXEL_FRACTION,
    GPS_HIGH,
    HABITAT_ACTIONS,
    HABITAT_INSTALL_URL,
    HABITAT_MISSING,
    HABITAT_OPTIONS,
    HABITAT_TASK_PARAMS,
    MAX_SCENES,
    MAX_VIEW_POINTS,
    SCENES_ENV,
    START_TRIES,
    TOPDOWN_METRES_PER_PIXEL,
    TURN_DEGREES,
    VIEW_DROP,
    VIEW_SPACING,
    HabitatUnavailableError,
    Vector,
    category_index,
    check_task,
    habitat_action,
    normalise_category,
    parse_scene_list,
    require_habitat,
    scene_file_missing,
    split_indices,
)

__all__ = [
    "AGENT_RADIUS",
    "ALL_CATEGORIES",
    "CATEGORY_ALIASES",
    "CATEGORY_SETS",
    "DATASET_ENV",
    "DEFAULT_SCENE",
    "GOAL_PIXEL_FRACTION",
    "GPS_HIGH",
    "HABITAT_ACTIONS",
    "HABITAT_INSTALL_URL",
    "HABITAT_MISSING",
    "HABITAT_OPTIONS",
    "HABITAT_TASK_PARAMS",
    "MAX_SCENES",
    "MAX_VIEW_POINTS",
    "SCENES_ENV",
    "START_TRIES",
    "TOPDOWN_METRES_PER_PIXEL",
    "TURN_DEGREES",
    "VIEW_DROP",
    "VIEW_SPACING",
    "GoalInstance",
    "HabitatEpisodes",
    "HabitatObjNavBatch",
    "HabitatUnavailableError",
    "ObjNavHabitat",
    "ObjNavHabitatEnv",
    "Vector",
    "assemble_observation",
    "box_distance_xz",
    "category_index",
    "check_task",
    "compose_frame",
    "fit_into",
    "goal_instances",
    "goal_one_hot",
    "goal_reached",
    "habitat_action",
    "heading_quaternion",
    "is_view_point",
    "min_goal_pixels",
    "nearest_resize",
    "normalise_category",
    "observation_size",
    "parse_scene_list",
    "planar_heading",
    "planar_position",
    "require_habitat",
    "rotate_vector",
    "scene_file_missing",
    "spl",
    "split_indices",
    "step_reward",
    "view_point_candidates",
]
