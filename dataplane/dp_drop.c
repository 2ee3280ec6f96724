#include "dp_drop.h"

static const char *const dp_drop_names[DP_DROP_MAX] = {
#define DP_DROP_NAME(e, s) [DP_DROP_##e] = s,
	DP_DROP_REASONS(DP_DROP_NAME)
#undef DP_DROP_NAME
};

const char *dp_drop_name(enum dp_drop_reason r)
{
	if ((unsigned)r >= DP_DROP_MAX)
		return "unknown";
	return dp_drop_names[r];
}
