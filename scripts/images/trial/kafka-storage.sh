#!/bin/sh
# kafka-storage.sh of the trial Kafka image: the broker's StorageTool on the jars in /opt/kafka/libs.
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} -XX:+UseSerialGC -Dlog4j2.level=WARN -cp '/opt/kafka/libs/*' kafka.tools.StorageTool "$@"
