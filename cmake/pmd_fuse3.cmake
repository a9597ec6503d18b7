# libfuse 3 for the daxfs daemon and its benchmark peer.
#
# The daemon needs libfuse >= PMD_FUSE_MIN built with FUSE over io_uring
# (3.18.3: the first release that hands the KILLPRIV_V2 kill flags of WRITE
# and OPEN to the filesystem, fuse_file_info::kill_suidgid). PMD_FUSE says
# where it comes from:
#   auto    the system's libfuse when it is new enough and was built with
#           io_uring (its pkg-config file requires liburing), else `build`
#   system  the system's libfuse, an error when too old
#   build   scripts/fuse-src: Debian's fuse3 source package from the unstable
#           suite, built at configure time into PMD_FUSE_CACHE as a static
#           library with io_uring, plus its passthrough_hp example. The
#           system's fusermount3 and mount.fuse3 are used as they are.
#
# Defines:
#   pmd_fuse3                  the imported target to link
#   PMD_FUSE3_VERSION          its version
#   PMD_FUSE3_PASSTHROUGH_HP   passthrough_hp built from the same libfuse
#                              (empty for the system's libfuse)
# and writes PROJECT_BINARY_DIR/libfuse.env (KEY=value lines: FUSE_VERSION,
# FUSE_FROM, FUSE_URING, PASSTHROUGH_HP) for the scripts that need to know,
# such as fio-jobs/run-daxfs.

set(PMD_FUSE_MIN 3.18.3)
set(PMD_FUSE "auto" CACHE STRING "Where libfuse comes from: auto, system or build")
set_property(CACHE PMD_FUSE PROPERTY STRINGS auto system build)
set(PMD_FUSE_CACHE "${PROJECT_BINARY_DIR}/libfuse" CACHE PATH
	"Where scripts/fuse-src fetches and builds libfuse (PMD_FUSE=build)")
if(NOT PMD_FUSE MATCHES "^(auto|system|build)$")
	message(FATAL_ERROR "PMD_FUSE=${PMD_FUSE}: use auto, system or build")
endif()

set(_pmd_fuse_from build)
if(NOT PMD_FUSE STREQUAL "build")
	pkg_check_modules(SYSFUSE3 QUIET IMPORTED_TARGET fuse3>=${PMD_FUSE_MIN})
	set(_pmd_fuse_uring OFF)
	if(SYSFUSE3_FOUND)
		execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --print-requires
			--print-requires-private fuse3
			OUTPUT_VARIABLE _pmd_fuse_req ERROR_QUIET)
		if(_pmd_fuse_req MATCHES "liburing")
			set(_pmd_fuse_uring ON)
		endif()
	endif()
	if(PMD_FUSE STREQUAL "system")
		if(NOT SYSFUSE3_FOUND)
			message(FATAL_ERROR "PMD_FUSE=system but the system's libfuse is not "
				">= ${PMD_FUSE_MIN} (pkg-config fuse3); configure with -DPMD_FUSE=build "
				"to build Debian's newer fuse3 source")
		endif()
		set(_pmd_fuse_from system)
	elseif(SYSFUSE3_FOUND AND _pmd_fuse_uring)
		set(_pmd_fuse_from system)
	endif()
endif()

if(_pmd_fuse_from STREQUAL "system")
	add_library(pmd_fuse3 INTERFACE IMPORTED GLOBAL)
	target_link_libraries(pmd_fuse3 INTERFACE PkgConfig::SYSFUSE3)
	set(PMD_FUSE3_VERSION "${SYSFUSE3_VERSION}")
	set(PMD_FUSE3_PASSTHROUGH_HP "")
	set(_pmd_fuse_has_uring ${_pmd_fuse_uring})
	message(STATUS "libfuse: the system's ${PMD_FUSE3_VERSION} (io_uring: ${_pmd_fuse_uring})")
else()
	execute_process(
		COMMAND ${PROJECT_SOURCE_DIR}/scripts/fuse-src --min ${PMD_FUSE_MIN} ${PMD_FUSE_CACHE}
		OUTPUT_VARIABLE _pmd_fuse_dir
		RESULT_VARIABLE _pmd_fuse_rc
		OUTPUT_STRIP_TRAILING_WHITESPACE)
	if(NOT _pmd_fuse_rc EQUAL 0 OR NOT _pmd_fuse_dir)
		message(FATAL_ERROR "scripts/fuse-src could not fetch and build libfuse >= "
			"${PMD_FUSE_MIN} (see its message above). The system's libfuse is "
			"older or lacks io_uring; fix the message above and configure again.")
	endif()
	pkg_check_modules(FUSE3_URING REQUIRED IMPORTED_TARGET liburing numa)
	add_library(pmd_fuse3 STATIC IMPORTED GLOBAL)
	set_target_properties(pmd_fuse3 PROPERTIES
		IMPORTED_LOCATION "${_pmd_fuse_dir}/build/lib/libfuse3.a"
		INTERFACE_INCLUDE_DIRECTORIES "${_pmd_fuse_dir}/include/fuse3"
		INTERFACE_LINK_LIBRARIES "PkgConfig::FUSE3_URING;Threads::Threads;${CMAKE_DL_LIBS};rt")
	file(READ "${_pmd_fuse_dir}/version" PMD_FUSE3_VERSION)
	string(STRIP "${PMD_FUSE3_VERSION}" PMD_FUSE3_VERSION)
	set(PMD_FUSE3_PASSTHROUGH_HP "${_pmd_fuse_dir}/build/example/passthrough_hp")
	set(_pmd_fuse_has_uring ON)
	message(STATUS "libfuse: Debian fuse3 ${PMD_FUSE3_VERSION} built in ${_pmd_fuse_dir} "
		"(static, io_uring)")
endif()
# A rerun of cmake after scripts/fuse-src changed rebuilds libfuse.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
	${PROJECT_SOURCE_DIR}/scripts/fuse-src ${PROJECT_SOURCE_DIR}/scripts/apt-debsrc)

file(WRITE "${PROJECT_BINARY_DIR}/libfuse.env"
	"FUSE_VERSION=${PMD_FUSE3_VERSION}\n"
	"FUSE_FROM=${_pmd_fuse_from}\n"
	"FUSE_URING=${_pmd_fuse_has_uring}\n"
	"PASSTHROUGH_HP=${PMD_FUSE3_PASSTHROUGH_HP}\n")
