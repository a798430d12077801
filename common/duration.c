#include "duration.h"
