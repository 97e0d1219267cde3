// Shared by the element-wise kernels: the workgroup size, and a flat
// invocation index over the 2-D grids that vk.Grid1D makes for counts past
// the device's x limit. The size is read from the specialization constant
// itself, not gl_WorkGroupSize, which some compilers fold to its default.
layout(constant_id = 0) const uint WORKGROUP = 256;
layout(local_size_x_id = 0) in;

uint flatIndex() {
    uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    return group * WORKGROUP + gl_LocalInvocationID.x;
}
