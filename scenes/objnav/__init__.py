"""Multi-object navigation in procedurally generated MuJoCo apartments (`objnav-apartment`).

Memo's headline benchmark is ExtObjNav (ReLIC, Elawady et al. 2024; Memo §5): a robot in a photo-realistic
Habitat house is given one object category after another and must find an instance of each, many episodes in the
same house, so an agent that remembers what it saw in earlier episodes finds later goals faster. habitat-sim
cannot be installed everywhere (docs/reference/landscape.md), so this scene rebuilds the task's structure
from MuJoCo primitives and runs on any machine; `scenes/objnav_habitat/` speaks to habitat-sim where it is
installed, with the same observations and actions.

## Apartment (`Apartment`, a pure function of the layout seed and the scene options)
A grid of `rooms` (rows × columns) rectangular rooms, each 3-4.5 m a side, on an occupancy grid of 0.25 m cells
(the forward step). Walls are one cell thick; neighbouring rooms are joined by 1 m doorways along a random
spanning tree of the room graph (so every room is reachable) plus some extra doors. Each room gets a floor tint
(a place cue) and up to two furniture boxes; 10-20 target objects (`objects`) from 8 categories of distinct shape
and colour (`CATEGORIES`) stand on the floor, each blocking a 3×3-cell (0.75 m) footprint. Furniture and objects
are only placed where every free cell stays reachable from every other (checked by BFS).

## Agent, observation, actions
A head camera 0.88 m above the floor with a 79° field of view (Habitat ObjectNav's), on a base with a 0.25 m
forward step and 30° turns. The observation is one flat float32 vector (`Scene.image_shape` layout):

    | entries       | value                                                         |
    |---------------|---------------------------------------------------------------|
    | S·S·C         | head camera image, HWC, RGB / 255 (C = 4 adds depth / 5 m)    |
    | 2             | GPS: (x, y) in the apartment frame, metres / 10               |
    | 2             | compass: (sin, cos) of the heading                            |
    | 8             | goal category one-hot                                         |

Actions, `Discrete(4)` in Habitat's order: 0 stop, 1 forward 0.25 m, 2 turn left 30°, 3 turn right 30°. A
forward step into a wall, furniture or an object leaves the agent where it was (`collided` in info).

## Reward and success
With the default `rules = "objectnav"` (Habitat ObjectNav): `r = (d_prev - d) + 2.5·success - 0.01` with d the
geodesic distance in metres from the agent's cell to the nearest free cell next to an instance of the goal
category (4-connected BFS over the occupancy grid, cached per category). Stop ends the episode; it succeeds if an
instance of the goal category is within 1.5 m of the agent and in view: its centre inside the camera's field of
view (sideways and up/down: an object at the agent's feet is below the image) with the first thing a ray from the
camera meets (`mj_ray`) being that object. Episodes start at least 1 m from the goal along the floor and beyond
1.5 m of every goal instance. Episodes last at most `episode_length` (500) steps.

With `rules = "extobjnav"` (Memo's official ExtObjNav configs; docs/reference/extobjnav-rules.md): stop is a
no-op; arriving (the same within-1.5-m-and-in-view test, made after every step) succeeds and ends the episode;
`r = (d_prev - d) + (a_prev - a) + 10·success - 0.005`, where a is the angle in radians between the heading and
the nearest goal instance, counted only within 3 m of the goal; d and a are measured at the episode's start (and
again after an edit), so the first step pays its change, as habitat-lab's measures do. In a trial of many
episodes the two differ in kind: where stop ends an episode, stopping at once re-draws the start, and a policy
can collect the distance term's first step over and over (what Memo learned in the first objnav-long run,
docs/results.md).

## Trials (ExtObjNav-style)
A trial is `trial_steps` steps in ONE apartment; every episode starts at a random free cell facing a random way
with a new goal category drawn from those present (task `goal_category = "any"`), so what the agent saw in
earlier episodes helps it find later goals. Per-episode success and SPL are in `info` (`success`, `spl` on the
step that ends the episode).

## Task parameters (editable mid-episode)
`layout_seed` (a new apartment: the agent is placed at a random free cell), `goal_category` ("any" or a category
present in the apartment; a fixed category holds for every later episode of the trial), `camera_resolution` (the
resolution the camera renders at, resampled to the observation's `image_size`: a sensor edit the agent sees
in-context), and `moved_object` / `moved_x` / `moved_y` (object `moved_object` stands at (x, y) m instead of
where the layout put it; -1 moves none). Edits that cannot apply (an occupied spot, a category absent from the
apartment, a move that would cut off part of the apartment) raise `ValueError` and change nothing. A goal edit
re-bases `d_prev`, so the edit itself pays no reward.

## Deviations from ExtObjNav (Habitat, HSSD scenes, Fetch robot)
Primitive shapes instead of scanned furniture; a square 64×64 camera (ExtObjNav: 256×256) by default; no
look-up/down actions; no sliding along walls; success radius 1.5 m (ReLIC/Memo: 2 m); the geodesic distance is
4-connected on 0.25 m cells, so it overestimates diagonal paths by up to √2; GPS and compass are in the apartment
frame, not relative to the episode's start pose; trials of 1,024 steps by default (ExtObjNav trains on 4,096).

## Rendering speed
Software GL's cost is about 1 ms per frame whatever the size (draw calls and read-back, not pixels), so the
apartments are built to few draw calls (walls merged into long boxes, no meshes, shadows or multisampling)
and every env's camera renders through one GL context (`scenes.rendering.CameraTiles`): ≈700-1,000 frames/s
for 16-64 envs at 64×64 on 2 cores (bench/bench_scenes.py, docs/benchmarks.md).

## Files (one job each)
- `spec.py`: what every part agrees on: units, camera, reward and action constants, occupancy codes, object
  categories and colours, task parameters and options, the observation layout.
- `layout.py`: the apartment (`Apartment`): rooms, doors, furniture and objects on the occupancy grid, geodesic
  distances.
- `mjcf.py`: an apartment written as a MuJoCo model.
- `raster.py`: pixels in NumPy: the top-down map, the discs it is drawn with, camera frames resampled.
- `batch.py`: the batch env (`ObjNavBatch`): episodes, dynamics, reward, success, observations, task edits.
- `scene.py`: the scene and its single env (`ObjNavApartment`, `ObjNavEnv`, `ObjectNavigationScene`).
"""

from scenes.objnav.batch import ObjNavBatch
from scenes.objnav.layout import Apartment
from scenes.objnav.raster import fill_discs
from scenes.objnav.scene import ObjectNavigationScene, ObjNavApartment
from scenes.objnav.spec import (
    ACTIONS,
    ANY_GOAL,
    CAMERA_FOVY,
    CAMERA_HEIGHT,
    CATEGORIES,
    CATEGORY_NAMES,
    CELL,
    EPISODE_RULES,
    FORWARD,
    FORWARD_ACTION,
    GPS_SCALE,
    HEADINGS,
    IMAGE_SIZES,
    MAX_DEPTH,
    MIN_START_DISTANCE,
    STEP_PENALTY,
    STOP,
    SUCCESS_DISTANCE,
    SUCCESS_REWARD,
    TURN_LEFT,
    TURN_RIGHT,
    camera_image_shape,
    heading_vector,
    observation_size,
)

__all__ = [
    "ACTIONS",
    "ANY_GOAL",
    "CAMERA_FOVY",
    "CAMERA_HEIGHT",
    "CATEGORIES",
    "CATEGORY_NAMES",
    "CELL",
    "EPISODE_RULES",
    "FORWARD",
    "FORWARD_ACTION",
    "GPS_SCALE",
    "HEADINGS",
    "IMAGE_SIZES",
    "MAX_DEPTH",
    "MIN_START_DISTANCE",
    "STEP_PENALTY",
    "STOP",
    "SUCCESS_DISTANCE",
    "SUCCESS_REWARD",
    "TURN_LEFT",
    "TURN_RIGHT",
    "Apartment",
    "ObjNavApartment",
    "ObjNavBatch",
    "ObjectNavigationScene",
    "camera_image_shape",
    "fill_discs",
    "heading_vector",
    "observation_size",
]
