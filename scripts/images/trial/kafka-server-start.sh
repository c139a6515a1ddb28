#!/bin/sh
# kafka-server-start.sh of the trial Kafka image: a KRaft node from the jars in /opt/kafka/libs.
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  -Dlog4j2.level=INFO -Dkafka.logs.dir="${LOG_DIR:-/tmp/kafka-logs}" -cp '/opt/kafka/libs/*' kafka.Kafka "$@"
