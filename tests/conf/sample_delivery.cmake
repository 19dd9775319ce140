# The commented-out delivery sample in conf/crmd.conf must load once it is
# uncommented, so the sample cannot rot.  Its secrets are systemd
# credential names; empty stand-ins are made in WORK.  Invoked by ctest:
#   cmake -DCHECK=conf_check -DSAMPLE=crmd.conf -DWORK=dir -P sample_delivery.cmake
file(READ ${SAMPLE} text)
string(FIND "${text}" "# Delivery:" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${SAMPLE}: no \"# Delivery:\" section")
endif()
string(SUBSTRING "${text}" 0 ${at} head)
string(SUBSTRING "${text}" ${at} -1 tail)
# One level of '#' goes; "#\t#" lines (alternatives) stay commented.
string(REGEX REPLACE "\n#(channels|outbox|quiet_hours|\t|})" "\n\\1"
  tail "${tail}")
if(tail MATCHES "\n#channels")
  message(FATAL_ERROR "uncommenting failed")
endif()
file(MAKE_DIRECTORY ${WORK}/credentials)
foreach(name crmd_smtp.pass crmd_twilio.token)
  file(WRITE ${WORK}/credentials/${name} "stand-in\n")
endforeach()
file(WRITE ${WORK}/crmd-delivery.conf "${head}${tail}")
set(ENV{CREDENTIALS_DIRECTORY} ${WORK}/credentials)
execute_process(COMMAND ${CHECK} ${WORK}/crmd-delivery.conf
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "" OR NOT err STREQUAL "")
  message(FATAL_ERROR "uncommented delivery sample: exit ${rc}\n${out}${err}")
endif()
